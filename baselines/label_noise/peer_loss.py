"""Peer loss (Liu & Guo, ICML 2020): l(f(x_n), y_n) - alpha * l(f(x_n1), y_n2), where n1 and n2 are drawn
independently, so the second term estimates the loss of an independent (x, y) pairing and cancels the noise's bias.
A CE warm-up precedes the peer term (as in the paper's experiments)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method

from ._common import predict, seed32, train
from ._robust import TrainConfig


class Config(TrainConfig):
    alpha: float = 0.5  # the paper tunes alpha per dataset; untuned default (alpha=1 diverges on this MLP)
    warmup_epochs: int = 10


@register_method("peer_loss", family="label_noise.robust", config=Config, paper="Liu & Guo, ICML 2020")
def peer_loss(data, cfg: Config, ctx):
    """Peer loss with CE warm-up."""
    gen = torch.Generator().manual_seed(seed32(ctx) + 7)
    X, Y = torch.as_tensor(data.X, dtype=torch.float32), torch.as_tensor(data.y)
    holder: dict = {}

    def loss(logits, y, idx, ep):
        base = F.cross_entropy(logits, y)
        if ep < cfg.warmup_epochs:
            return base
        b = len(y)
        n1 = torch.randint(0, len(Y), (b,), generator=gen)  # peer features and peer labels drawn independently
        n2 = torch.randint(0, len(Y), (b,), generator=gen)  # from the whole training set
        return base - cfg.alpha * F.cross_entropy(holder["model"](X[n1]), Y[n2])

    def on_start(model, ep):
        holder["model"] = model

    holder["model"] = None
    m = train(data.X, data.y, data.n_classes, seed32(ctx), loss, cfg.epochs, cfg.lr, cfg.batch_size, cfg.hidden,
              on_epoch=on_start, on_start=on_start)
    return predict(m, data.X_test)
