"""LLM-rating filter (AlpaGasus, Chen et al., ICLR 2024; DS2, Pang et al., ICLR 2025): a judge rates every
(instruction, response) on 1-5 and the highest-rated `budget` fraction is kept. The judge is pluggable: `JUDGES`
maps a name to fn(data, cfg, ctx) -> float ratings. Offline defaults:
- `reference_likelihood`: the seed-trained reference model's mean response log-likelihood, binned into 1-5 by
  quintiles (a local model as the rater);
- `format_rules`: a rule-based rater (5 minus the number of non-numeric words, floored at 1).
An API or HF judge can be added to JUDGES where a network is available."""
from __future__ import annotations

from typing import Callable, Literal

import numpy as np

from bench.api import register_method
from tasks.sft.tasks import Selection

from ._common import BudgetConfig, keep_top, labelled, sample_mean, token_losses, train_reference


def _reference_likelihood(data, cfg, ctx) -> np.ndarray:
    pad = data.tokenizer.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, ctx.rng)
    ll = -sample_mean(token_losses(ref, data.examples, pad), [labelled(e) for e in data.examples])
    return 1.0 + np.searchsorted(np.quantile(ll, [0.2, 0.4, 0.6, 0.8]), ll, side="right")


def _format_rules(data, cfg, ctx) -> np.ndarray:
    return np.array([max(1.0, 5.0 - sum(not w.isdigit() for w in r.split())) for _, r in data.texts])


JUDGES: dict[str, Callable] = {"reference_likelihood": _reference_likelihood, "format_rules": _format_rules}


class Config(BudgetConfig):
    judge: Literal["reference_likelihood", "format_rules"] = "reference_likelihood"


@register_method("rating_filter", family="sft.sample_selection", config=Config, kind="baseline",
                 paper="Chen et al., ICLR 2024 (AlpaGasus)")
def rating_filter(data, cfg: Config, ctx):
    """Keep the best-rated samples under a pluggable judge."""
    ratings = JUDGES[cfg.judge](data, cfg, ctx)
    ctx.add_artifact("rating_histogram", np.bincount(ratings.astype(int), minlength=6)[1:].tolist())
    tie_break = ctx.rng.random(len(ratings)) * 1e-6
    return Selection(sample_weights=keep_top(ratings + tie_break, cfg.budget))
