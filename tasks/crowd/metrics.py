"""Metrics of the crowdsourcing track."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def cheater_detection(scores: np.ndarray, is_cheater: np.ndarray) -> dict[str, float | None]:
    """AUROC / AUPRC of detecting cheaters (positive class) from trust scores (higher = more trustworthy)."""
    y = np.asarray(is_cheater, dtype=int)
    if y.min() == y.max():
        return {"auroc": None, "auprc": None}
    s = -np.asarray(scores, dtype=float)
    # average precision sums floating-point steps and can land a hair above 1 (1.0000000000000002 on a perfect
    # ranking): clip to the metric's range
    return {"auroc": float(roc_auc_score(y, s)), "auprc": float(min(1.0, average_precision_score(y, s)))}


def majority_vote(items: np.ndarray, labels: np.ndarray, n_items: int, n_classes: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Per-item plurality label; ties broken uniformly at random; items with no label get -1."""
    counts = np.zeros((n_items, n_classes))
    np.add.at(counts, (items, labels), 1)
    noise = rng.random(counts.shape) * 1e-3
    out = (counts + noise).argmax(axis=1)
    out[counts.sum(axis=1) == 0] = -1
    return out


def accuracy_after_removal(data, scores: np.ndarray, truth: np.ndarray, remove_fraction: float,
                           rng: np.random.Generator) -> float:
    """Majority-vote accuracy after dropping the `remove_fraction` lowest-scoring workers (items left without any
    label count as wrong)."""
    n_remove = int(round(remove_fraction * data.n_workers))
    order = np.argsort(scores, kind="stable")
    keep = np.ones(data.n_workers, dtype=bool)
    keep[order[:n_remove]] = False
    sel = keep[data.workers]
    mv = majority_vote(data.items[sel], data.labels[sel], data.n_items, data.n_classes, rng)
    return float(np.mean(mv == truth))
