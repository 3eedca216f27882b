from __future__ import annotations

import torch.nn.functional as F

from bench.api import register_method

from ._common import predict, seed32, train
from ._imbalance import class_counts, effective_number_weights
from ._robust import TrainConfig


class Config(TrainConfig):
    beta: float = 0.999


@register_method("class_balanced", family="label_noise.imbalance", config=Config, paper="Cui et al., CVPR 2019")
def class_balanced(data, cfg: Config, ctx):
    """Cross-entropy re-weighted by the inverse effective number of samples per class."""
    w = effective_number_weights(class_counts(data.y, data.n_classes), cfg.beta)
    m = train(data.X, data.y, data.n_classes, seed32(ctx), lambda lg, y, i, e: F.cross_entropy(lg, y, weight=w),
              cfg.epochs, cfg.lr, cfg.batch_size, cfg.hidden)
    return predict(m, data.X_test)
