"""SimNPO (Fan et al., 2024), as open-unlearning's SimNPO trainer writes it: the reference-free, length-normalised
NPO  l = NLL_sum(y | x) / |y| - delta,  L = gamma * (-(2 / beta) * mean_batch log sigmoid(beta * l)) + alpha * NLL(retain),
with open-unlearning's TOFU defaults beta = 4.5, delta = 0, gamma = 0.125, alpha = 1."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import UnlearnConfig, forget_batch, retain_batch, run


class Config(UnlearnConfig):
    beta: float = Field(4.5, gt=0)
    delta: float = 0.0
    gamma: float = Field(0.125, ge=0)
    alpha: float = Field(1.0, ge=0)


def simnpo_loss(mean_nll: torch.Tensor, beta: float, delta: float) -> torch.Tensor:
    """Per-example SimNPO forget loss from the length-normalised NLL (the caller averages)."""
    return -(2.0 / beta) * F.logsigmoid(beta * (mean_nll - delta))


@register_method("simnpo", family="unlearning", config=Config, paper="Fan et al., 2024 (SimNPO)",
                 privileges={"retain_data"})
def simnpo(view, cfg: Config, ctx):
    """Length-normalised, reference-free NPO plus the retain NLL."""
    def loss(m, rng):
        fb = forget_batch(view, rng, cfg.batch_size)
        lp, mask = lm.token_logprobs(m, fb)
        per = -lp.sum(1) / mask.sum(1).clamp_min(1)
        return (cfg.gamma * simnpo_loss(per, cfg.beta, cfg.delta).mean()
                + cfg.alpha * lm.mean_nll(m, retain_batch(view, rng, cfg.batch_size)))

    return run(view, cfg, ctx.rng, loss, ctx)
