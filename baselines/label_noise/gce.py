from __future__ import annotations

import torch
from pydantic import Field

from bench.api import register_method

from ._common import predict
from ._robust import TrainConfig, fit


class Config(TrainConfig):
    q: float = Field(0.7, gt=0.0, le=1.0, description="q of L_q: CE as q -> 0, MAE at q = 1")


def gce_loss(logits: torch.Tensor, y: torch.Tensor, q: float) -> torch.Tensor:
    """Generalized cross-entropy L_q = (1 - p_y^q) / q (Zhang & Sabuncu, NeurIPS 2018): CE as q -> 0, MAE at q = 1."""
    p = torch.softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1).clamp_min(1e-12)
    return ((1 - p.pow(q)) / q).mean()


@register_method("gce", family="label_noise.robust", config=Config, paper="Zhang & Sabuncu, NeurIPS 2018")
def gce(data, cfg: Config, ctx):
    """Generalized cross-entropy."""
    return predict(fit(data, cfg, ctx, lambda lg, y, i, e: gce_loss(lg, y, cfg.q)), data.X_test)
