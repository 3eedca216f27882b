from __future__ import annotations

import torch.nn.functional as F

from bench.api import register_method

from ._common import predict, seed32, train
from ._robust import TrainConfig


class Config(TrainConfig):
    smoothing: float = 0.4


@register_method("label_smoothing", family="label_noise.robust", config=Config,
                 paper="Lukasik et al., ICML 2020 (Does label smoothing mitigate label noise?)")
def label_smoothing(data, cfg: Config, ctx):
    """Cross-entropy against (1 - eps) one-hot + eps uniform targets."""
    loss = lambda logits, y, idx, ep: F.cross_entropy(logits, y, label_smoothing=cfg.smoothing)  # noqa: E731
    m = train(data.X, data.y, data.n_classes, seed32(ctx), loss, cfg.epochs, cfg.lr, cfg.batch_size, cfg.hidden)
    return predict(m, data.X_test)
