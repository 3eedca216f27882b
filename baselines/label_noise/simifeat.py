"""SimiFeat (Zhu, Dong & Liu, ICML 2022, "Detecting corrupted labels without training a model to predict"), on
features: each example's k nearest neighbours (cosine, excluding itself) vote on its label.

score_i = 1 - (fraction of neighbours whose observed label equals y_i).
- `vote`: flag when the neighbours' majority label differs from y_i;
- `rank`: estimate the number of corrupted examples per observed class as the count of vote-flags in that class, then
  flag that many examples of the class with the highest scores (ties broken by the cell's rng).
Several rounds over random feature sub-samplings (`rounds`) are averaged, as in the paper's repeated voting."""
from __future__ import annotations

from typing import Literal

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput


class Config(StrictConfig):
    k: int = 10
    mode: Literal["vote", "rank"] = "rank"
    rounds: int = 5
    feature_fraction: float = 0.8


def _knn(F: np.ndarray, k: int) -> np.ndarray:
    Fn = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-12)
    S = Fn @ Fn.T
    np.fill_diagonal(S, -np.inf)
    return np.argpartition(-S, k, axis=1)[:, :k]


@register_method("simifeat", family="label_noise.detection", config=Config, paper="Zhu et al., ICML 2022")
def simifeat(data, cfg: Config, ctx):
    """kNN label agreement on features (vote or rank)."""
    rng = ctx.rng
    X, y, K = data.X, data.y, data.n_classes
    n = len(y)
    votes = np.zeros((n, K))
    for _ in range(cfg.rounds):
        cols = rng.permutation(X.shape[1])[: max(1, int(cfg.feature_fraction * X.shape[1]))]
        nb = _knn(X[:, cols] - X[:, cols].mean(axis=0), cfg.k)
        np.add.at(votes, (np.repeat(np.arange(n), cfg.k), y[nb].ravel()), 1.0)
    votes /= votes.sum(axis=1, keepdims=True)
    scores = 1.0 - votes[np.arange(n), y]
    vote_flags = votes.argmax(axis=1) != y
    if cfg.mode == "vote":
        return DetectionOutput(scores, vote_flags)
    flags = np.zeros(n, dtype=bool)
    jitter = rng.random(n) * 1e-9
    for k in range(K):
        idx = np.flatnonzero(y == k)
        m = int(vote_flags[idx].sum())
        if m:
            flags[idx[np.argsort(-(scores[idx] + jitter[idx]))[:m]]] = True
    return DetectionOutput(scores, flags)
