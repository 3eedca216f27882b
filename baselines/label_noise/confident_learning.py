"""Confident Learning (Northcutt, Jiang & Chuang, JAIR 2021), the `confident_learning` filter: an example is flagged
when it is counted off the diagonal of the confident joint and the model's top class is not its given label.

Per-class thresholds t_k = mean predicted p_k over examples labelled k. Class k is "confident" for example i when
p_ik >= t_k - 1e-6; the guessed true label is the argmax of p_i when several classes are confident, the confident
class when one is; examples with no confident class are never flagged. Examples whose argmax (with the given label
favoured by 1e-6) is the given label are unflagged. The score ranks by self-confidence: 1 - p_i[given label].
On the same predicted probabilities this gives exactly cleanlab's `find_label_issues(filter_by="confident_learning")`
(tested)."""
from __future__ import annotations

import numpy as np

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput, cross_val_probs, seed32


class Config(StrictConfig):
    folds: int = Field(5, ge=2, le=50, description="cross-validation folds of the out-of-fold probabilities")
    C: float = Field(1.0, gt=0.0, le=1e6, description="inverse L2 strength of the logistic regression")


def confident_learning_flags(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    n, K = pred_probs.shape
    thresholds = np.array([pred_probs[labels == k, k].mean() if (labels == k).any() else 2.0 for k in range(K)])
    thresholds = np.maximum(thresholds, 2e-6)
    confident = pred_probs >= thresholds - 1e-6
    n_conf = confident.sum(axis=1)
    guess = np.where(n_conf > 1, pred_probs.argmax(axis=1), confident.argmax(axis=1))
    flags = (n_conf > 0) & (guess != labels)
    bumped = pred_probs.copy()
    bumped[np.arange(n), labels] += 1e-6
    flags &= bumped.argmax(axis=1) != labels
    return flags


@register_method("confident_learning", family="label_noise.detection", config=Config,
                 paper="Northcutt et al., JAIR 2021")
def confident_learning(data, cfg: Config, ctx):
    """Confident Learning on out-of-fold logistic-regression probabilities."""
    probs = cross_val_probs(data.X, data.y, data.n_classes, seed32(ctx), cfg.folds, cfg.C)
    return DetectionOutput(scores=1.0 - probs[np.arange(len(data.y)), data.y],
                           flags=confident_learning_flags(data.y, probs))
