"""PyTorch: a small CNN and a small transformer, each trained 200 steps on
synthetic data with fixed seeds and deterministic algorithms; the loss of
every step is printed (exactly)."""
import torch
import torch.nn as nn

from fw_common import done
from fw_models import cnn, image_batch, token_batch, Transformer

torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
torch.use_deterministic_algorithms(True)
STEPS = 200


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


torch.manual_seed(0)
train("cnn", cnn(), image_batch, nn.functional.cross_entropy)
torch.manual_seed(0)
train("transformer", Transformer(), token_batch,
      lambda out, y: nn.functional.cross_entropy(out.reshape(-1, 100), y.reshape(-1)))
done("fw_torch_train")
