"""Metrics of the label-noise track."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def detection_metrics(flags: np.ndarray, scores: np.ndarray, noise_mask: np.ndarray) -> dict[str, float | None]:
    """Precision, recall, F1 of the flags and AUROC of the scores, against the true corruption mask.

    Conventions: precision is 0 when nothing is flagged; AUROC is undefined (None) when the mask is all one class."""
    flags = np.asarray(flags, dtype=bool)
    truth = np.asarray(noise_mask, dtype=bool)
    tp = int((flags & truth).sum())
    fp = int((flags & ~truth).sum())
    fn = int((~flags & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auroc = float(roc_auc_score(truth, scores)) if 0 < truth.sum() < len(truth) else None
    return {"f1": f1, "precision": precision, "recall": recall, "auroc": auroc}


def shot_accuracies(y_true: np.ndarray, y_pred: np.ndarray, train_counts: np.ndarray, many: int = 100,
                    few: int = 20) -> dict[str, float | None]:
    """Overall and class-balanced accuracy, and accuracy over many-shot (> many train samples), medium-shot
    ([few, many]) and few-shot (< few) classes (Liu et al., CVPR 2019 convention). A group with no class -> None."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    K = len(train_counts)
    per_class = np.array([np.mean(y_pred[y_true == k] == k) if (y_true == k).any() else np.nan for k in range(K)])

    def group(sel: np.ndarray) -> float | None:
        vals = per_class[sel & ~np.isnan(per_class)]
        return float(vals.mean()) if len(vals) else None

    c = np.asarray(train_counts)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(np.nanmean(per_class)),
        "many_shot": group(c > many),
        "medium_shot": group((c >= few) & (c <= many)),
        "few_shot": group(c < few),
    }
