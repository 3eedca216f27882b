from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method

from ._common import predict, seed32, train
from ._imbalance import class_counts
from ._robust import TrainConfig


@register_method("balanced_softmax", family="label_noise.imbalance", config=TrainConfig, paper="Ren et al., NeurIPS 2020")
def balanced_softmax(data, cfg: TrainConfig, ctx):
    """Balanced softmax: CE on f(x) + log n_k (the label-distribution shift), predict argmax f(x)."""
    log_n = torch.log(class_counts(data.y, data.n_classes))
    m = train(data.X, data.y, data.n_classes, seed32(ctx), lambda lg, y, i, e: F.cross_entropy(lg + log_n, y),
              cfg.epochs, cfg.lr, cfg.batch_size, cfg.hidden)
    return predict(m, data.X_test)
