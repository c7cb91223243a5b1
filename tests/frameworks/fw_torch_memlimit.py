"""PyTorch on a session with a device-memory limit. With RM_TEST_MEM_LIMIT
set (bytes; tests/gpu/run starts a remora-server with --mem-limit of it) the
GPU's memory is the limit (torch.cuda.mem_get_info and the device
properties), a tensor past it raises torch.cuda.OutOfMemoryError, and the
caching allocator recovers once memory is freed. Without it (the suite's
native and unlimited runs) the same tensors of an eighth of the GPU's memory
all fit. The printed lines are the same either way."""
import os

import torch

from fw_common import done

want = os.environ.get("RM_TEST_MEM_LIMIT")
free, total = torch.cuda.mem_get_info()
props_total = torch.cuda.get_device_properties(0).total_memory
print("properties agree with mem_get_info", props_total == total)
limit = int(want) if want else total // 8
if want:
    assert total == limit, "total %d, limit %d" % (total, limit)
    assert free <= limit, "free %d above the limit %d" % (free, limit)
MIB = 1 << 20
a = torch.empty(limit // 4 * 3 // MIB * MIB, dtype=torch.uint8, device="cuda")
a.fill_(1)
over = False
try:
    b = torch.empty(limit // 2 // MIB * MIB, dtype=torch.uint8, device="cuda")
    b.fill_(2)
    del b
except torch.cuda.OutOfMemoryError:
    over = True
print("second tensor past the limit refused", over == bool(want))
del a
torch.cuda.empty_cache()
c = torch.empty(limit // 2 // MIB * MIB, dtype=torch.uint8, device="cuda")
c.fill_(3)
torch.cuda.synchronize()
print("after freeing, half the limit fits", int(c[-1].item()) == 3)
del c
done("fw_torch_memlimit")
