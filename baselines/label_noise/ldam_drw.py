"""LDAM-DRW (Cao et al., NeurIPS 2019; kaidic/LDAM-DRW). The classifier's last layer is a normed linear (cosine)
layer: logit_k = <x / |x|, w_k / |w_k|> in [-1, 1]. LDAM subtracts the label-distribution-aware margin
Delta_y = C / n_y^(1/4) (C scaled so the largest margin is `max_margin`) from the true-class cosine and scales all
logits by s before cross-entropy. Deferred re-weighting (DRW): unweighted for the first `drw_fraction` of training
(the authors: epoch 160 of 200 = 80 %), class-balanced weights (effective number, beta = 0.9999, normalised to sum
to K) after."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method

from ._common import epochs_for, predict, seed32, train
from ._imbalance import class_counts, effective_number_weights
from ._robust import TrainConfig


class Config(TrainConfig):
    max_margin: float = Field(0.5, gt=0.0, le=2.0, description="largest class margin (the rarest class's)")
    s: float = Field(30.0, gt=0.0, le=100.0, description="logit scale applied to the cosines")
    drw_fraction: float = Field(0.8, ge=0.0, le=1.0, description="share of training before re-weighting starts")
    beta: float = Field(0.9999, ge=0.0, lt=1.0, description="effective-number beta of the deferred weights")


class NormedLinear(torch.nn.Module):
    """Cosine classifier: normalised features times column-normalised weights (outputs in [-1, 1])."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(d_in, d_out).uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1).mm(F.normalize(self.weight, dim=0))


def cosine_mlp(d_in: int, n_classes: int, hidden: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), NormedLinear(hidden, n_classes))


def ldam_margins(counts: torch.Tensor, max_margin: float) -> torch.Tensor:
    m = 1.0 / counts.pow(0.25)
    return m * (max_margin / m.max())


def ldam_loss(cosines: torch.Tensor, y: torch.Tensor, margins: torch.Tensor, s: float,
              weight: torch.Tensor | None = None) -> torch.Tensor:
    z = cosines - F.one_hot(y, cosines.size(1)) * margins[y][:, None]
    return F.cross_entropy(s * z, y, weight=weight)


def drw_switch_epoch(epochs: int, drw_fraction: float) -> int:
    return int(drw_fraction * epochs)


@register_method("ldam_drw", family="label_noise.imbalance", config=Config, paper="Cao et al., NeurIPS 2019")
def ldam_drw(data, cfg: Config, ctx):
    """LDAM loss on a cosine classifier with deferred re-weighting."""
    counts = class_counts(data.y, data.n_classes)
    margins = ldam_margins(counts, cfg.max_margin)
    w = effective_number_weights(counts, cfg.beta)
    epochs = epochs_for(cfg.epochs, ctx)
    switch = drw_switch_epoch(epochs, cfg.drw_fraction)

    def loss(cosines, y, idx, ep):
        return ldam_loss(cosines, y, margins, cfg.s, weight=w if ep >= switch else None)

    m = train(data.X, data.y, data.n_classes, seed32(ctx), loss, epochs, cfg.lr, cfg.batch_size, cfg.hidden,
              model=lambda: cosine_mlp(data.X.shape[1], data.n_classes, cfg.hidden))
    return predict(m, data.X_test)
