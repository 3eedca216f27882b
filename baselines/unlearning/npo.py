"""Negative Preference Optimization (Zhang, Lin, Bai & Mei, 2024): on forget responses,
L = (2 / beta) * log(1 + (pi_theta(y|x) / pi_ref(y|x))^beta) = -(2 / beta) log sigmoid(-beta (log pi_theta - log pi_ref)),
a bounded alternative to gradient ascent (it recovers GA as beta -> 0)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method
from bench.lm import sequence_logprob

from ._loop import UnlearnConfig, forget_batch, run


class Config(UnlearnConfig):
    beta: float = 0.1


def npo_loss(logp: torch.Tensor, logp_ref: torch.Tensor, beta: float) -> torch.Tensor:
    return -(2.0 / beta) * F.logsigmoid(-beta * (logp - logp_ref))


@register_method("npo", family="unlearning", config=Config, paper="Zhang et al., 2024")
def npo(data, cfg: Config, ctx):
    """NPO on the forget set."""
    def loss(m, tok, rng, ref):
        fb = forget_batch(data, rng, cfg.batch_size)
        with torch.no_grad():
            lr = sequence_logprob(ref, fb)
        return npo_loss(sequence_logprob(m, fb), lr, cfg.beta).mean()

    return run(data, cfg, ctx.rng, loss, needs_ref=True, log=ctx.log)
