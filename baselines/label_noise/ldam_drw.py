"""LDAM-DRW (Cao et al., NeurIPS 2019): label-distribution-aware margins Delta_k = C / n_k^(1/4) (scaled so the largest
is `max_margin`) subtracted from the true-class logit, logits scaled by s; deferred re-weighting: plain weights for the
first `drw_fraction` of training, class-balanced (effective-number, beta = 0.9999) weights after."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method

from ._common import predict, seed32, train
from ._imbalance import class_counts, effective_number_weights
from ._robust import TrainConfig


class Config(TrainConfig):
    max_margin: float = 0.5
    s: float = 30.0
    drw_fraction: float = 0.5
    beta: float = 0.9999


def ldam_margins(counts: torch.Tensor, max_margin: float) -> torch.Tensor:
    m = 1.0 / counts.pow(0.25)
    return m * (max_margin / m.max())


@register_method("ldam_drw", family="label_noise.imbalance", config=Config, paper="Cao et al., NeurIPS 2019")
def ldam_drw(data, cfg: Config, ctx):
    """LDAM loss with deferred re-weighting."""
    counts = class_counts(data.y, data.n_classes)
    margins = ldam_margins(counts, cfg.max_margin)
    w = effective_number_weights(counts, cfg.beta)
    switch = int(cfg.drw_fraction * cfg.epochs)

    def loss(logits, y, idx, ep):
        # LDAM is defined on normalised logits; scale by s after subtracting the margin from the true class
        z = logits / logits.norm(dim=1, keepdim=True).clamp_min(1e-6)
        z = z - F.one_hot(y, logits.size(1)) * margins[y][:, None]
        return F.cross_entropy(cfg.s * z, y, weight=w if ep >= switch else None)

    m = train(data.X, data.y, data.n_classes, seed32(ctx), loss, cfg.epochs, cfg.lr, cfg.batch_size, cfg.hidden)
    return predict(m, data.X_test)
