"""FLAT: Forget data only Loss AdjustmenT (Wang, Wei, Liu et al., ICLR 2025), as the authors' code writes it
(UCSC-REAL/FLAT `dataloader.py`: the `cl` loss, `ProbLossStable`, `get_contrastive_loss`).

With only the forget data and template answers, maximise the variational f-divergence lower bound between the
template-answer and the forget-answer distributions:
    L = -g(P_e) + f*(g(P_f)),
where P_e / P_f are *batch-level* probabilities of the template / forget answers: the token probability of every
labelled answer token, summed over the batch and divided by batch size x (sequence length - 1), the sequences padded
to the task's sequence cap as the authors pad to max_length (a probability "diluted" by the padded length, averaged
over the batch *before* the nonlinearity), and (g, f* o g) the output activation and conjugate of the divergence
(f-GAN, Nowozin et al. 2016). The authors' eight divergences, their names and formulas (x = P):
  kl                g = x              f*(g) = exp(x - 1)
  reverse_kl        g = -exp(x)        f*(g) = -1 - x
  jeffrey           g = x              f*(g) = x + x^2 / 4 + x^3 / 16
  squared_hellinger g = 1 - exp(x)     f*(g) = (1 - exp(x)) / exp(x)
  pearson           g = x              f*(g) = x^2 / 4 + x
  neyman            g = 1 - exp(x)     f*(g) = 2 - 2 sqrt(1 - x)   (the authors apply f* to x itself here)
  js                g = log 2 - softplus(-x)   f*(g) = x + softplus(-x) - log 2
  tv (default)      g = tanh(x) / 2    f*(g) = tanh(x) / 2
Template answers are drawn at random per example from the task's templates (FLAT's TOFU data module draws an
"I don't know" answer per item; on the copyright task the templates are generic text, as FLAT's HP loader draws C4
text). No retain data and no reference model are used. `average="tokens"` replaces the padded-length dilution by
the mean over labelled tokens (an ablation; not the authors')."""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import UnlearnConfig, forget_and_template, run

Divergence = Literal["kl", "reverse_kl", "jeffrey", "squared_hellinger", "pearson", "neyman", "js", "tv"]


class Config(UnlearnConfig):
    divergence: Divergence = "tv"
    average: Literal["padded", "tokens"] = "padded"


LOG2 = math.log(2.0)
DIVERGENCES = {  # name: (activation g(x), conjugate composed with the activation f*(g(x)))
    "kl": (lambda x: x, lambda x: torch.exp(x - 1.0)),
    "reverse_kl": (lambda x: -torch.exp(x), lambda x: -1.0 - x),
    "jeffrey": (lambda x: x, lambda x: x + x * x / 4.0 + x * x * x / 16.0),
    "squared_hellinger": (lambda x: 1.0 - torch.exp(x), lambda x: (1.0 - torch.exp(x)) / torch.exp(x)),
    "pearson": (lambda x: x, lambda x: x * x / 4.0 + x),
    "neyman": (lambda x: 1.0 - torch.exp(x), lambda x: 2.0 - 2.0 * torch.sqrt(1.0 - x)),
    "js": (lambda x: LOG2 - F.softplus(-x), lambda x: x + F.softplus(-x) - LOG2),
    "tv": (lambda x: torch.tanh(x) / 2.0, lambda x: torch.tanh(x) / 2.0),
}


def flat_loss(p_template: torch.Tensor, p_forget: torch.Tensor, divergence: str) -> torch.Tensor:
    """-g(P_e) + f*(g(P_f)) on batch-level probabilities (scalars; a tensor input is averaged first)."""
    g, conj = DIVERGENCES[divergence]
    return -g(p_template.mean()) + conj(p_forget.mean())


def batch_probability(model, batch: dict, padded_length: int | None) -> torch.Tensor:
    """Sum of the labelled tokens' probabilities over the batch, divided by B x (padded_length - 1) (the authors'
    mean of `ProbLossStable` over sequences padded to max_length), or by the number of labelled tokens when
    `padded_length` is None."""
    lp, mask = lm.token_logprobs(model, batch)
    total = (lp.exp() * mask).sum()
    if padded_length is None:
        return total / mask.sum().clamp_min(1)
    return total / (lp.shape[0] * (max(padded_length, lp.shape[1]) - 1))


@register_method("flat", family="unlearning", config=Config, paper="Wang et al., 2025 (FLAT, ICLR)")
def flat(view, cfg: Config, ctx):
    """f-divergence loss adjustment with forget data and template answers only (default: total variation)."""
    pad = view.max_length if cfg.average == "padded" else None

    def loss(m, rng):
        bad, good = forget_and_template(view, rng, cfg.batch_size)
        return flat_loss(batch_probability(m, good, pad), batch_probability(m, bad, pad), cfg.divergence)

    return run(view, cfg, ctx.rng, loss, ctx)
