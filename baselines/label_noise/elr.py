"""Early-Learning Regularization (Liu et al., NeurIPS 2020): CE + lambda * log(1 - <p_i, t_i>), where t_i is a
temporal ensemble (EMA with momentum beta) of the model's own predictions for example i; it keeps the model close to
what it learned early, before memorising wrong labels."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method

from ._common import predict
from ._robust import TrainConfig, fit


class Config(TrainConfig):
    beta: float = Field(0.7, ge=0.0, lt=1.0, description="EMA momentum of the per-example target t_i")
    lam: float = Field(3.0, ge=0.0, le=100.0, description="weight of the early-learning regulariser")


@register_method("elr", family="label_noise.robust", config=Config, paper="Liu et al., NeurIPS 2020")
def elr(data, cfg: Config, ctx):
    """Early-learning regularization."""
    targets = torch.zeros(len(data.y), data.n_classes)

    def loss(logits, y, idx, ep):
        p = torch.softmax(logits, dim=1).clamp(1e-4, 1 - 1e-4)
        with torch.no_grad():
            targets[idx] = cfg.beta * targets[idx] + (1 - cfg.beta) * (p / p.sum(dim=1, keepdim=True))
        reg = torch.log(1 - (targets[idx] * p).sum(dim=1)).mean()
        return F.cross_entropy(logits, y) + cfg.lam * reg

    return predict(fit(data, cfg, ctx, loss), data.X_test)
