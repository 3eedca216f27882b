from __future__ import annotations

from bench.api import register_method
from bench.lm import token_nll

from ._loop import UnlearnConfig, forget_batch, run


@register_method("grad_ascent", family="unlearning", config=UnlearnConfig, kind="baseline",
                 paper="Jang et al., 2023 (knowledge unlearning)")
def grad_ascent(data, cfg: UnlearnConfig, ctx):
    """Gradient ascent on the forget-set NLL."""
    return run(data, cfg, ctx.rng, lambda m, tok, rng, ref: -token_nll(m, forget_batch(data, rng, cfg.batch_size),
                                                                      reduction="mean"), log=ctx.log)
