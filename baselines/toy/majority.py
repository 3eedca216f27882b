from __future__ import annotations

import numpy as np

from bench.api import register_method


@register_method("majority", family="toy.classification", kind="null")
def majority(data, cfg, ctx):
    """Null baseline: always predict the most frequent training class (accuracy ~ 1/10 on balanced digits)."""
    vals, counts = np.unique(data.y_train, return_counts=True)
    return np.full(len(data.X_test), vals[np.argmax(counts)])
