from __future__ import annotations

from bench.api import register_method

from ._common import predict, seed32, train, epochs_for
from ._robust import TrainConfig


@register_method("ce_clean", family="label_noise.robust", config=TrainConfig, kind="oracle",
                 privileges={"y_clean"})
def ce_clean(data, cfg: TrainConfig, ctx):
    """Oracle ceiling (never ranked): cross-entropy on the *clean* training labels, same MLP and budget as `ce`."""
    return predict(train(data.X, data.y_clean, data.n_classes, seed32(ctx), epochs=epochs_for(cfg.epochs, ctx),
                         lr=cfg.lr, batch_size=cfg.batch_size, hidden=cfg.hidden), data.X_test)
