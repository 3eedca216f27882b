from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.fairness import model as lr


@register_method("group_aware", family="fairness.active_sampling", kind="oracle")
def group_aware(view, cfg, ctx):
    """Sees the pool's group labels (which the protocol hides from methods, hence oracle, never ranked): samples the
    most uncertain examples of the group with the higher validation loss."""
    if view.g_pool is None:
        raise ValueError("group_aware needs pool group labels (kind='oracle')")
    l_val = lr.losses(view.w, view.X_val, view.y_val)
    worse = int(l_val[view.g_val == 1].mean() > l_val[view.g_val == 0].mean())
    p = lr.predict_proba(view.w, view.X_pool)
    unc = -np.abs(p - 0.5) + 10.0 * (view.g_pool == worse)
    return np.argsort(-unc, kind="stable")[: view.k]
