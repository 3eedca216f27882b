from __future__ import annotations

import numpy as np

from bench.api import register_method


@register_method("majority_class", family=("label_noise.robust", "label_noise.imbalance"), kind="null")
def majority_class(data, cfg, ctx):
    """Null baseline: predict the most frequent observed training label for every test example."""
    return np.full(len(data.X_test), int(np.bincount(data.y, minlength=data.n_classes).argmax()), dtype=np.int64)
