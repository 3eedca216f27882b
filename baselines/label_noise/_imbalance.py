"""Shared pieces of the class-imbalance learners."""
from __future__ import annotations

import numpy as np
import torch


def class_counts(y: np.ndarray, n_classes: int) -> torch.Tensor:
    return torch.as_tensor(np.maximum(np.bincount(y, minlength=n_classes), 1), dtype=torch.float32)


def effective_number_weights(counts: torch.Tensor, beta: float) -> torch.Tensor:
    """Class-balanced weights (Cui et al., CVPR 2019): w_k ∝ (1 - beta) / (1 - beta^n_k), normalised to sum to K."""
    w = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta), counts))
    return w / w.sum() * len(counts)
