"""Shared config and helpers of the noise-robust and imbalance learners (all train the same MLP with the same budget)."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.config import StrictConfig

from ._common import ce_loss, cross_val_probs, epochs_for, seed32, train


class TrainConfig(StrictConfig):
    epochs: int = Field(40, ge=1, le=1000, description="training epochs (smoke runs cap them at 4)")
    lr: float = Field(2e-3, gt=0.0, le=1.0, description="Adam learning rate")
    batch_size: int = Field(128, ge=1, le=4096, description="mini-batch size")
    hidden: int = Field(128, ge=1, le=4096, description="width of the MLP's hidden layer")


def fit(data, cfg: TrainConfig, ctx, loss_fn=ce_loss, seed_offset: int = 0, **kw):
    """Train the family's MLP on the view's (X, y) with the config's budget (capped in smoke runs)."""
    return train(data.X, data.y, data.n_classes, seed32(ctx) + seed_offset, loss_fn, epochs_for(cfg.epochs, ctx),
                 cfg.lr, cfg.batch_size, cfg.hidden, **kw)


def estimated_noise_rate(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> float:
    """Noise rate estimated without clean labels: the fraction Confident Learning flags on out-of-fold probs."""
    from .confident_learning import confident_learning_flags

    probs = cross_val_probs(X, y, n_classes, seed)
    return float(confident_learning_flags(y, probs).mean())
