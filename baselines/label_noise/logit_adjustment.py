from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method

from ._common import predict, seed32, train
from ._imbalance import class_counts
from ._robust import TrainConfig


class Config(TrainConfig):
    tau: float = 1.0


@register_method("logit_adjustment", family="label_noise.imbalance", config=Config, paper="Menon et al., ICLR 2021")
def logit_adjustment(data, cfg: Config, ctx):
    """Logit-adjusted loss: CE on f(x) + tau * log(prior); predict argmax f(x)."""
    log_prior = torch.log(class_counts(data.y, data.n_classes) / len(data.y))
    m = train(data.X, data.y, data.n_classes, seed32(ctx),
              lambda lg, y, i, e: F.cross_entropy(lg + cfg.tau * log_prior, y), cfg.epochs, cfg.lr, cfg.batch_size,
              cfg.hidden)
    return predict(m, data.X_test)
