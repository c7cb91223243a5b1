"""Models and synthetic batches shared by the PyTorch programs."""
import torch
import torch.nn as nn


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


def image_batch(step):
    g = torch.Generator(device="cuda").manual_seed(step)
    x = torch.randn(16, 3, 32, 32, device="cuda", generator=g)
    return x, torch.randint(0, 10, (16,), device="cuda", generator=g)


def token_batch(step):
    g = torch.Generator(device="cuda").manual_seed(1000 + step)
    x = torch.randint(0, 100, (8, 32), device="cuda", generator=g)
    return x, torch.roll(x, 1, dims=1)
