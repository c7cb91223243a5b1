"""PyTorch: a small CNN and a small transformer, each trained 200 steps on
synthetic data with fixed seeds and deterministic algorithms; the loss of
every step is printed (exactly). Then one CNN step captured in a CUDA graph
and replayed."""
import torch
import torch.nn as nn

from fw_common import done

torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
torch.use_deterministic_algorithms(True)
STEPS = 200


def cnn():
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(32, 10))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 64)
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(64, 100)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)))


def train(name, model, make_batch, loss_of):
    torch.manual_seed(1)
    model = model.cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(STEPS):
        x, y = make_batch(step)
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model(x), y)
        loss.backward()
        opt.step()
        print(name, step, repr(loss.item()))


def image_batch(step):
    g = torch.Generator(device="cuda").manual_seed(step)
    x = torch.randn(16, 3, 32, 32, device="cuda", generator=g)
    return x, torch.randint(0, 10, (16,), device="cuda", generator=g)


def token_batch(step):
    g = torch.Generator(device="cuda").manual_seed(1000 + step)
    x = torch.randint(0, 100, (8, 32), device="cuda", generator=g)
    return x, torch.roll(x, 1, dims=1)


torch.manual_seed(0)
train("cnn", cnn(), image_batch, nn.functional.cross_entropy)
torch.manual_seed(0)
train("transformer", Transformer(), token_batch,
      lambda out, y: nn.functional.cross_entropy(out.reshape(-1, 100), y.reshape(-1)))

# One step captured in a CUDA graph, replayed on new data.
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
done("fw_torch_train")
