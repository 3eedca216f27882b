from __future__ import annotations

import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method

from ._common import predict
from ._imbalance import class_counts, effective_number_weights
from ._robust import TrainConfig, fit


class Config(TrainConfig):
    beta: float = Field(0.999, ge=0.0, lt=1.0, description="effective-number beta; weights ∝ (1-beta)/(1-beta^n_k)")


@register_method("class_balanced", family="label_noise.imbalance", config=Config, paper="Cui et al., CVPR 2019")
def class_balanced(data, cfg: Config, ctx):
    """Cross-entropy re-weighted by the inverse effective number of samples per class."""
    w = effective_number_weights(class_counts(data.y, data.n_classes), cfg.beta)
    return predict(fit(data, cfg, ctx, lambda lg, y, i, e: F.cross_entropy(lg, y, weight=w)), data.X_test)
