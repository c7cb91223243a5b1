"""PyTorch: the device as PyTorch sees it, and tensor arithmetic."""
import torch

from fw_common import checksum, done

print("available", torch.cuda.is_available(), "devices", torch.cuda.device_count())
p = torch.cuda.get_device_properties(0)
print("device", p.name, "capability", p.major, p.minor, "sms", p.multi_processor_count,
      "memory", p.total_memory)
torch.manual_seed(0)
a = torch.randn(512, 512, device="cuda")
b = torch.randn(512, 512, device="cuda")
for name, value in [("add", a + b), ("mul", a * b), ("matmul", a @ b), ("exp", torch.exp(a)),
                    ("sum", a.sum(dim=0)), ("softmax", torch.softmax(a, dim=1)),
                    ("sort", torch.sort(a, dim=1).values), ("cumsum", torch.cumsum(a, dim=0))]:
    print(name, checksum(value.cpu().numpy().tobytes()))
x = torch.arange(10, device="cuda")
print("index", x[x % 3 == 0].tolist(), "item", int(x.sum().item()))
free, total = torch.cuda.mem_get_info()
print("mem_get_info total", total)
done("fw_torch_basics")
