"""LLM-rating filter (AlpaGasus, Chen et al., ICLR 2024; DS2's "label-filtered" baseline): a judge rates every
(instruction, response) on 0..5 and the highest-rated `budget` fraction is kept, ties broken at random -- DS2
without score curation and without the long-tail diversity score. The rater is `_rating.llm_ratings` (the task's
pretrained judge prompted to rate; on tasks without a judge the recorded fallback, reference-likelihood bins)."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.sft.contract import Selection

from ._common import BudgetConfig, keep_top
from ._rating import llm_ratings


@register_method("rating_filter", family="sft.sample_selection", config=BudgetConfig, kind="baseline",
                 paper="Chen et al., ICLR 2024 (AlpaGasus)")
def rating_filter(data, cfg: BudgetConfig, ctx):
    """Keep the best-rated samples (raw LLM ratings)."""
    ratings, rater = llm_ratings(data, ctx, cfg)
    ctx.add_artifact("rater", rater)
    ctx.add_artifact("rating_histogram", np.bincount(ratings, minlength=6).tolist())
    tie_break = ctx.rng.random(len(ratings)) * 1e-6
    return Selection(sample_weights=keep_top(ratings + tie_break, cfg.budget))
