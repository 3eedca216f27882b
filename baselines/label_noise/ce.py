from __future__ import annotations

from bench.api import register_method

from ._common import predict, seed32, train
from ._robust import TrainConfig


@register_method("ce", family=("label_noise.robust", "label_noise.imbalance"), config=TrainConfig, kind="baseline")
def ce(data, cfg: TrainConfig, ctx):
    """Plain cross-entropy on the observed labels (the reference point every robust method must beat)."""
    m = train(data.X, data.y, data.n_classes, seed32(ctx), epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
              hidden=cfg.hidden)
    return predict(m, data.X_test)
