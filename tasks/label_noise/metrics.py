"""Metrics of the label-noise families, computed by scikit-learn (the hand-written versions they replaced agreed on
fixed cases; tests/test_label_noise.py keeps that check)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, precision_recall_fscore_support, recall_score, roc_auc_score


def detection_metrics(flags: np.ndarray, scores: np.ndarray, noise_mask: np.ndarray) -> dict[str, float | None]:
    """Precision, recall, F1 of the flags (scikit-learn; 0 when nothing is flagged) and AUROC of the scores against
    the true corruption mask (None when the mask is all one class)."""
    truth = np.asarray(noise_mask, dtype=bool)
    p, r, f, _ = precision_recall_fscore_support(truth, np.asarray(flags, dtype=bool), average="binary",
                                                 zero_division=0)
    auroc = float(roc_auc_score(truth, scores)) if 0 < truth.sum() < len(truth) else None
    return {"f1": float(f), "precision": float(p), "recall": float(r), "auroc": auroc}


def shot_accuracies(y_true: np.ndarray, y_pred: np.ndarray, train_counts: np.ndarray, many: int = 100,
                    few: int = 20) -> dict[str, float | None]:
    """Overall accuracy, balanced accuracy (scikit-learn) and the mean per-class recall over many-shot (> many train
    samples), medium-shot ([few, many]) and few-shot (< few) classes (Liu et al., CVPR 2019). A group with no class
    present in the test set -> None."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    K = len(train_counts)
    present = np.isin(np.arange(K), y_true)
    per_class = recall_score(y_true, y_pred, labels=np.arange(K), average=None, zero_division=0.0)

    def group(sel: np.ndarray) -> float | None:
        sel = sel & present
        return float(per_class[sel].mean()) if sel.any() else None

    c = np.asarray(train_counts)
    return {"accuracy": float(np.mean(y_true == y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "many_shot": group(c > many), "medium_shot": group((c >= few) & (c <= many)), "few_shot": group(c < few)}
