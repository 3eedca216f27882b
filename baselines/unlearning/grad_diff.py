from __future__ import annotations

from bench.api import register_method
from bench.lm import token_nll

from ._loop import UnlearnConfig, forget_batch, retain_batch, run


@register_method("grad_diff", family="unlearning", config=UnlearnConfig, kind="baseline", paper="Liu et al., 2022")
def grad_diff(data, cfg: UnlearnConfig, ctx):
    """Gradient difference: ascend the forget NLL, descend the retain NLL."""
    def loss(m, tok, rng, ref):
        return (-token_nll(m, forget_batch(data, rng, cfg.batch_size), reduction="mean")
                + token_nll(m, retain_batch(data, rng, cfg.batch_size), reduction="mean"))

    return run(data, cfg, ctx.rng, loss, log=ctx.log)
