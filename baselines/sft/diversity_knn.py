"""Embedding diversity: embed each sample (mean last hidden state of the reference model over its tokens) and pick a
`budget` fraction by greedy k-center (farthest-point) selection, so the kept set covers the embedding space
(Sener & Savarese 2018; the KNN/diversity baselines of DS2's comparison)."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.sft.contract import Selection

from ._common import BudgetConfig, mean_hidden, reference_model


def k_center(E: np.ndarray, k: int, first: int) -> np.ndarray:
    chosen = [first]
    d = np.linalg.norm(E - E[first], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(d, np.linalg.norm(E - E[nxt], axis=1))
    return np.array(chosen)


@register_method("diversity_knn", family="sft.sample_selection", config=BudgetConfig, kind="baseline")
def diversity_knn(data, cfg: BudgetConfig, ctx):
    """Greedy k-center on reference-model embeddings."""
    ref = reference_model(data, cfg)
    E = mean_hidden(data, ref)
    n = len(E)
    k = max(1, int(round(cfg.budget * n)))
    w = np.zeros(n, dtype=np.float32)
    w[k_center(E, k, int(ctx.rng.integers(n)))] = 1
    return Selection(sample_weights=w)
