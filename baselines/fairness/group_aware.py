from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.fairness import model as lr


@register_method("group_aware", family="fairness.active_sampling", kind="oracle", privileges={"pool_groups"})
def group_aware(view, cfg, ctx):
    """Sees the pool's group labels (the `pool_groups` privilege, which the protocol hides from methods, hence
    oracle, never ranked): labels the most uncertain examples of the group with the higher validation loss."""
    l_val = lr.losses(view.w, view.X_val, view.y_val)
    worse = int(l_val[view.g_val == 1].mean() > l_val[view.g_val == 0].mean())
    p = lr.predict_proba(view.w, view.X_pool)
    unc = -np.abs(p - 0.5) + 10.0 * (view.g_pool == worse)
    return np.argsort(-unc, kind="stable")[: view.k]
