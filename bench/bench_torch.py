"""PyTorch through the driver it finds: start-up to the first CUDA tensor and
the training-step time of the two models of tests/frameworks/fw_torch_train.py
(a small CNN and a small transformer). Prints "metric value unit" lines for
bench/run; '#' lines are notes."""
import time

_START = time.perf_counter()
import ctypes  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "frameworks"))
from fw_models import Transformer, cnn, image_batch, token_batch  # noqa: E402

torch.ones(1, device="cuda")
torch.cuda.synchronize()
print("torch_startup_first_tensor %.1f ms" % ((time.perf_counter() - _START) * 1e3))
print("# device %s, torch %s" % (torch.cuda.get_device_name(0), torch.__version__))

WARMUP, STEPS = 10, 60
try:  # remora's libcuda counts its round trips; the native driver has no such count
    _round_trips = ctypes.CDLL("libcuda.so.1").remora_round_trips
    _round_trips.restype = ctypes.c_uint64
except (OSError, AttributeError):
    _round_trips = None


def step_time(name, model, make_batch, loss_of):
    torch.manual_seed(1)
    model = model.cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [make_batch(i) for i in range(WARMUP + STEPS)]
    times = []
    trips = 0
    for i, (x, y) in enumerate(batches):
        torch.cuda.synchronize()
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_of(model(x), y).backward()
        opt.step()
        torch.cuda.synchronize()
        if i == WARMUP and _round_trips:
            trips = _round_trips()
        if i >= WARMUP:
            times.append(time.perf_counter() - t)
    print("torch_%s_step %.3f ms" % (name, statistics.median(times) * 1e3))
    if _round_trips:  # the synchronize of each step included
        print("torch_%s_round_trips_per_step %.1f count" % (name, (_round_trips() - trips) / (STEPS - 1)))


step_time("cnn", cnn(), image_batch, nn.functional.cross_entropy)
step_time("transformer", Transformer(), token_batch,
          lambda out, y: nn.functional.cross_entropy(out.reshape(-1, 100), y.reshape(-1)))
