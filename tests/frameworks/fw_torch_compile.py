"""PyTorch: torch.compile (Inductor, Triton kernels) of a small model."""
import torch
import torch.nn as nn

from fw_common import checksum, done

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(256, 512), nn.GELU(), nn.LayerNorm(512), nn.Linear(512, 64)).cuda()
x = torch.randn(128, 256, device="cuda")
compiled = torch.compile(model)
with torch.no_grad():
    eager = model(x)
    out = compiled(x)
print("compiled", checksum(out.cpu().numpy().tobytes()))
print("close to eager", torch.allclose(out, eager, atol=1e-4, rtol=1e-4))
done("fw_torch_compile")
