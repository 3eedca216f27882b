"""FLAT: Forget data only Loss AdjustmenT (Wang, Wei, Liu et al., 2024). Using only the forget data and template
("I don't know") answers, maximise the variational f-divergence lower bound between the template-answer and the
forget-answer distributions:  L = -( g(P(x, y_e)) - f*( g(P(x, y_f)) ) ),
where P(x, y) is the model's mean per-token probability of answer y to question x, y_e a template answer, y_f the
forget answer, and (g, f*) the output activation and convex conjugate of the chosen f-divergence (f-GAN, Nowozin et
al. 2016):
  KL:        g(v) = v,                         f*(t) = exp(t - 1)
  JS:        g(v) = log 2 - log(1 + exp(-v)),  f*(t) = -log(2 - exp(t))
  Pearson:   g(v) = v,                         f*(t) = t^2 / 4 + t
  TV:        g(v) = tanh(v) / 2,               f*(t) = t
No retain data and no reference model are used."""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from bench.api import register_method
from bench.lm import token_nll

from ._loop import UnlearnConfig, paired_forget_idk, run


class Config(UnlearnConfig):
    divergence: Literal["kl", "js", "pearson", "tv"] = "kl"


ACTIVATIONS = {
    "kl": (lambda v: v, lambda t: torch.exp(t - 1)),
    "js": (lambda v: math.log(2.0) - F.softplus(-v), lambda t: -torch.log(2.0 - torch.exp(t))),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "tv": (lambda v: 0.5 * torch.tanh(v), lambda t: t),
}


def mean_token_prob(model, batch) -> torch.Tensor:
    nll, mask = token_nll(model, batch)
    return ((-nll).exp() * mask).sum(1) / mask.sum(1).clamp_min(1)


def flat_loss(p_template: torch.Tensor, p_forget: torch.Tensor, divergence: str) -> torch.Tensor:
    g, f_star = ACTIVATIONS[divergence]
    return -(g(p_template) - f_star(g(p_forget))).mean()


@register_method("flat", family="unlearning", config=Config, paper="Wang et al., 2024 (FLAT)")
def flat(data, cfg: Config, ctx):
    """f-divergence loss adjustment with forget data and template answers only."""
    def loss(m, tok, rng, ref):
        bad, good = paired_forget_idk(data, rng, cfg.batch_size)
        return flat_loss(mean_token_prob(m, good), mean_token_prob(m, bad), cfg.divergence)

    return run(data, cfg, ctx.rng, loss, log=ctx.log)
