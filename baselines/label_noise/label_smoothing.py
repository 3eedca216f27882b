from __future__ import annotations

import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method

from ._common import predict
from ._robust import TrainConfig, fit


class Config(TrainConfig):
    smoothing: float = Field(0.1, ge=0.0, lt=1.0, description="eps: target = (1 - eps) one-hot + eps uniform")


@register_method("label_smoothing", family="label_noise.robust", config=Config, paper="Szegedy et al., CVPR 2016")
def label_smoothing(data, cfg: Config, ctx):
    """Cross-entropy against (1 - eps) one-hot + eps uniform targets."""
    loss = lambda logits, y, idx, ep: F.cross_entropy(logits, y, label_smoothing=cfg.smoothing)  # noqa: E731
    return predict(fit(data, cfg, ctx, loss), data.X_test)
