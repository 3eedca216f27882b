"""Gradient ascent on the forget set (Jang et al., 2023): minimise -NLL(forget) (open-unlearning's GradAscent)."""
from __future__ import annotations

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import UnlearnConfig, forget_batch, run


@register_method("grad_ascent", family="unlearning", config=UnlearnConfig, kind="baseline",
                 paper="Jang et al., 2023 (knowledge unlearning)")
def grad_ascent(view, cfg: UnlearnConfig, ctx):
    """Gradient ascent on the forget-set NLL."""
    return run(view, cfg, ctx.rng, lambda m, rng: -lm.mean_nll(m, forget_batch(view, rng, cfg.batch_size)), ctx)
