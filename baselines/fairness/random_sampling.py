from __future__ import annotations

from bench.api import register_method


@register_method("random_sampling", family="fairness.active_sampling", kind="null")
def random_sampling(view, cfg, ctx):
    """k pool examples uniformly at random."""
    return ctx.rng.choice(len(view.X_pool), size=view.k, replace=False)
