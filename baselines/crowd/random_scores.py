from __future__ import annotations

from bench.api import register_method


@register_method("random_scores", family="crowd.cheating", kind="null")
def random_scores(data, cfg, ctx):
    """Uniform random trust scores (AUROC ~ 0.5, AUPRC ~ the cheater fraction)."""
    return ctx.rng.random(data.n_workers)
