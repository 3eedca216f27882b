from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.fairness import model as lr


@register_method("entropy_sampling", family="fairness.active_sampling", kind="baseline", paper="Lewis & Gale, 1994")
def entropy_sampling(view, cfg, ctx):
    """Uncertainty sampling: the k pool examples with the highest predictive entropy."""
    p = np.clip(lr.predict_proba(view.w, view.X_pool), 1e-12, 1 - 1e-12)
    ent = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return np.argsort(-ent, kind="stable")[: view.k]
