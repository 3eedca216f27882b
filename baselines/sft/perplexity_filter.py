from __future__ import annotations

from bench.api import register_method
from tasks.sft.contract import Selection

from ._common import BudgetConfig, keep_top, labelled, reference_losses, reference_model, sample_mean


@register_method("perplexity_filter", family="sft.sample_selection", config=BudgetConfig, kind="baseline")
def perplexity_filter(data, cfg: BudgetConfig, ctx):
    """Keep the samples whose responses have the lowest perplexity under the reference (seed-trained) model."""
    ref = reference_model(data, cfg)
    loss = sample_mean(reference_losses(data, ref), [labelled(e) for e in data.examples])
    return Selection(sample_weights=keep_top(-loss, cfg.budget))
