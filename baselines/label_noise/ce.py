from __future__ import annotations

from bench.api import register_method

from ._common import predict
from ._robust import TrainConfig, fit


@register_method("ce", family=("label_noise.robust", "label_noise.imbalance"), config=TrainConfig, kind="baseline")
def ce(data, cfg: TrainConfig, ctx):
    """Plain cross-entropy on the observed labels (the reference point every robust method must beat)."""
    return predict(fit(data, cfg, ctx), data.X_test)
