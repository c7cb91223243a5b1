"""PyTorch: one CNN training step captured in a CUDA graph (warmed up on a
side stream, as the CUDA graphs documentation asks) and replayed on new
data; the loss of each replay is printed."""
import torch
import torch.nn as nn

from fw_common import done
from fw_models import cnn, image_batch

torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False

torch.manual_seed(0)
model = cnn().cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
static_x, static_y = image_batch(0)
side = torch.cuda.Stream()
side.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(side):
    for _ in range(3):  # warm-up, as the CUDA graphs documentation asks
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(static_x), static_y).backward()
        opt.step()
torch.cuda.current_stream().wait_stream(side)
graph = torch.cuda.CUDAGraph()
opt.zero_grad(set_to_none=True)
with torch.cuda.graph(graph):
    static_loss = nn.functional.cross_entropy(model(static_x), static_y)
    static_loss.backward()
    opt.step()
for step in range(5):
    x, y = image_batch(100 + step)
    static_x.copy_(x)
    static_y.copy_(y)
    graph.replay()
    print("graph replay", step, repr(static_loss.item()))
done("fw_torch_graph")
