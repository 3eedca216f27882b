from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method

from ._common import predict
from ._robust import TrainConfig, fit


class Config(TrainConfig):
    gamma: float = Field(2.0, ge=0.0, le=10.0, description="focusing parameter; 0 = cross-entropy")


def focal_loss(logits: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
    """FL = -(1 - p_y)^gamma log p_y (Lin et al., ICCV 2017); gamma = 0 is cross-entropy."""
    logp = F.log_softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
    return (-(1 - logp.exp()).pow(gamma) * logp).mean()


@register_method("focal", family="label_noise.imbalance", config=Config, paper="Lin et al., ICCV 2017")
def focal(data, cfg: Config, ctx):
    """Focal loss."""
    return predict(fit(data, cfg, ctx, lambda lg, y, i, e: focal_loss(lg, y, cfg.gamma)), data.X_test)
