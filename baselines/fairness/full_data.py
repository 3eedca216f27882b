from __future__ import annotations

import numpy as np

from bench.api import register_method


@register_method("full_data", family="fairness.active_sampling", kind="reference", privileges={"unlimited_budget"})
def full_data(view, cfg, ctx):
    """Reference: label the whole pool in the first round (the `unlimited_budget` privilege; never ranked)."""
    return np.arange(len(view.X_pool))
