"""PyTorch's caching allocator with expandable segments: its memory comes
from the virtual memory management API (cuMemCreate, cuMemMap,
cuMemSetAccess), grown and trimmed as tensors come and go."""
import os

os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
import torch  # noqa: E402

from fw_common import checksum, done  # noqa: E402

torch.manual_seed(0)
kept = []
for i in range(6):  # the segment grows
    kept.append(torch.randn(1 << 20, device="cuda") * (i + 1))
total = sum(t.sum() for t in kept)
print("grown: %d tensors" % len(kept), checksum(torch.stack([t[:16] for t in kept]).cpu().numpy().tobytes()))
del kept[1::2]
torch.cuda.empty_cache()  # unmaps what is free
more = torch.ones(3 << 20, device="cuda")
print("after trim and regrow: sum", float(more.sum().item()), "kept", len(kept))
print("total", checksum(total.cpu().numpy().tobytes()))
stats = torch.cuda.memory_stats()
print("segments in use", stats["segment.all.current"] > 0)
done("fw_torch_expandable")
