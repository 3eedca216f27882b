"""Gradient difference (Liu et al., 2022; open-unlearning's GradDiff with retain_loss_type NLL):
L = gamma * (-NLL(forget)) + alpha * NLL(retain), gamma = alpha = 1."""
from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import UnlearnConfig, forget_batch, retain_batch, run


class Config(UnlearnConfig):
    gamma: float = Field(1.0, ge=0)  # forget-term weight
    alpha: float = Field(1.0, ge=0)  # retain-term weight


@register_method("grad_diff", family="unlearning", config=Config, kind="baseline", paper="Liu et al., 2022",
                 privileges={"retain_data"})
def grad_diff(view, cfg: Config, ctx):
    """Gradient difference: ascend the forget NLL, descend the retain NLL."""
    def loss(m, rng):
        return (-cfg.gamma * lm.mean_nll(m, forget_batch(view, rng, cfg.batch_size))
                + cfg.alpha * lm.mean_nll(m, retain_batch(view, rng, cfg.batch_size)))

    return run(view, cfg, ctx.rng, loss, ctx)
