"""Negative Preference Optimization (Zhang, Lin, Bai & Mei, 2024) on forget responses, as open-unlearning's
`compute_dpo_loss` with only a losing response:
  L_NPO = -(2 / beta) * mean_batch log sigmoid(-beta * (log pi(y|x) - log pi_ref(y|x))),
log-probabilities summed over the answer tokens, pi_ref = the target model. It recovers gradient ascent as beta -> 0.
`npo` is the NPO paper's forget-only objective; `npo_rt` adds open-unlearning's retain NLL (its NPO: gamma = alpha = 1)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import Reference, UnlearnConfig, forget_batch, retain_batch, run


class Config(UnlearnConfig):
    beta: float = Field(0.1, gt=0)


class RTConfig(Config):
    alpha: float = Field(1.0, ge=0)  # retain-term weight


def npo_loss(logp: torch.Tensor, logp_ref: torch.Tensor, beta: float) -> torch.Tensor:
    """Per-example NPO loss (the caller averages)."""
    return -(2.0 / beta) * F.logsigmoid(-beta * (logp - logp_ref))


def _forget_term(view, cfg, ref: Reference, m, rng):
    fb = forget_batch(view, rng, cfg.batch_size)
    return npo_loss(lm.sequence_logprob(m, fb), ref(lambda r: lm.sequence_logprob(r, fb)), cfg.beta).mean()


@register_method("npo", family="unlearning", config=Config, paper="Zhang et al., 2024 (NPO)")
def npo(view, cfg: Config, ctx):
    """NPO on the forget set only (no retain data)."""
    ref = Reference(view.model)
    return run(view, cfg, ctx.rng, lambda m, rng: _forget_term(view, cfg, ref, m, rng), ctx)


@register_method("npo_rt", family="unlearning", config=RTConfig, paper="Zhang et al., 2024 (NPO-RT; open-unlearning NPO)",
                 privileges={"retain_data"})
def npo_rt(view, cfg: RTConfig, ctx):
    """NPO on the forget set plus the retain NLL (open-unlearning's NPO)."""
    ref = Reference(view.model)

    def loss(m, rng):
        return (_forget_term(view, cfg, ref, m, rng)
                + cfg.alpha * lm.mean_nll(m, retain_batch(view, rng, cfg.batch_size)))

    return run(view, cfg, ctx.rng, loss, ctx)
