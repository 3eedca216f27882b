from __future__ import annotations

import numpy as np

from bench.api import register_method


@register_method("random_sampling", family="fairness.active_sampling", kind="null")
def random_sampling(view, cfg, ctx):
    """k pool examples uniformly at random (a fresh draw per round from the cell seed)."""
    return np.random.default_rng([ctx.seed, view.round]).choice(len(view.X_pool), size=view.k, replace=False)
