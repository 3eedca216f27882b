"""First-order influence scores for logistic regression, as in the FIS authors' code (UCSC-REAL/FairnessWithoutHarm):
the influence of training on a candidate (x, y) on a validation objective V is the negative gradient product
    infl_V(x, y) = - grad_w l(x, y) . grad_w V,
the first-order change of V after one gradient step on the candidate (negative = V decreases = helpful). No inverse
Hessian. V is either the validation log-loss (accuracy) or a fairness surrogate (mu / 2) * sum_j c_j^2 of soft
(probability-based) group gaps c measured on the validation set with its group labels:
    dp : c = mean_{g=0} p - mean_{g=1} p
    eop: c = mean_{g=0, y=1} p - mean_{g=1, y=1} p
    eod: c = (mean_{g=0, y=0} p - mean_{g=1, y=0} p,  mean_{g=0, y=1} p - mean_{g=1, y=1} p)
with p = P(y = 1 | x). (The authors' DP surrogate also clips and rescales the per-group rates by 1 / (M (M-1) K);
with two groups and two classes that is a constant factor, which changes no sign and no ranking.)
"""
from __future__ import annotations

import numpy as np

from tasks.fairness import model as lr


def val_loss_grad(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return lr.mean_loss_grad(w, X, y)


def _soft_gaps(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray, target: str
               ) -> list[tuple[float, np.ndarray]]:
    """[(gap value, gradient of the gap)] for the target's soft group gaps (a gap with an empty cell is skipped)."""
    Xb = lr.add_bias(X)
    p = lr.sigmoid(Xb @ w)
    dp = (p * (1 - p))[:, None] * Xb  # d p / d w per example
    if target == "dp":
        conds = [np.ones(len(y), dtype=bool)]
    elif target == "eop":
        conds = [y == 1]
    elif target == "eod":
        conds = [y == 0, y == 1]
    else:
        raise ValueError(f"unknown fairness target {target!r} (dp, eop, eod)")
    out = []
    for c in conds:
        a, b = c & (g == 0), c & (g == 1)
        if a.any() and b.any():
            out.append((float(p[a].mean() - p[b].mean()), dp[a].mean(axis=0) - dp[b].mean(axis=0)))
    return out


def fairness_surrogate(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray, target: str,
                       mu: float = 1.0) -> float:
    return 0.5 * mu * sum(c ** 2 for c, _ in _soft_gaps(w, X, y, g, target))


def fairness_surrogate_grad(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray, target: str,
                            mu: float = 1.0) -> np.ndarray:
    grad = np.zeros(len(w))
    for c, dc in _soft_gaps(w, X, y, g, target):
        grad += mu * c * dc
    return grad


def first_order_influence(w: np.ndarray, X_cand: np.ndarray, grad_V: np.ndarray) -> np.ndarray:
    """float[n, 2]: - grad l(x, y) . grad V for y = 0 and y = 1."""
    return -(lr.label_grads(w, X_cand) @ grad_V)
