"""PyTorch's NCCL backend with one rank on one GPU: an all-reduce, a
broadcast and an all-gather of CUDA tensors go through NCCL's kernels and
its use of the driver (NVLink multicast kept off: NCCL_NVLS_ENABLE=0)."""
import os
import socket

os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from fw_common import checksum, done  # noqa: E402

with socket.socket() as s:  # a free port for the one-rank rendezvous
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
dist.init_process_group("nccl", init_method="tcp://127.0.0.1:%d" % port, rank=0, world_size=1,
                        device_id=torch.device("cuda", 0))
torch.manual_seed(0)
x = torch.randn(1 << 16, device="cuda")
dist.all_reduce(x)
print("all_reduce", checksum(x.cpu().numpy().tobytes()))
y = torch.arange(1024, dtype=torch.float32, device="cuda")
dist.broadcast(y, src=0)
print("broadcast sum", float(y.sum().item()))
out = [torch.empty(8, device="cuda")]
dist.all_gather(out, torch.full((8,), 3.0, device="cuda"))
print("all_gather", out[0].tolist())
dist.destroy_process_group()
done("fw_torch_nccl")
