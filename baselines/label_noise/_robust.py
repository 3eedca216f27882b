"""Shared config and helpers of the noise-robust learners (all train the same MLP with the same budget)."""
from __future__ import annotations

import numpy as np

from bench.config import StrictConfig

from ._common import cross_val_probs


class TrainConfig(StrictConfig):
    epochs: int = 60
    lr: float = 2e-3
    batch_size: int = 64
    hidden: int = 128


def estimated_noise_rate(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> float:
    """Noise rate estimated without clean labels: the fraction Confident Learning flags on out-of-fold probs."""
    from .confident_learning import confident_learning_flags

    probs = cross_val_probs(X, y, n_classes, seed)
    return float(confident_learning_flags(y, probs).mean())
