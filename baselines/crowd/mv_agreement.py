from __future__ import annotations

import numpy as np

from bench.api import register_method


@register_method("mv_agreement", family="crowd.cheating", kind="baseline")
def mv_agreement(data, cfg, ctx):
    """Fraction of a worker's labels that equal the item's majority vote of the *other* workers (leave-one-out)."""
    N = np.zeros((data.n_items, data.n_classes))
    np.add.at(N, (data.items, data.labels), 1.0)
    loo = N[data.items].copy()
    loo[np.arange(len(data.labels)), data.labels] -= 1
    has_peer = loo.sum(axis=1) > 0
    agree = (loo.argmax(axis=1) == data.labels) & has_peer
    num = np.bincount(data.workers, weights=agree, minlength=data.n_workers)
    den = np.bincount(data.workers, weights=has_peer, minlength=data.n_workers)
    return np.where(den > 0, num / np.maximum(den, 1), 0.0)
