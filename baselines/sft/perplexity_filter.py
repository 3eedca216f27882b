from __future__ import annotations

from bench.api import register_method
from tasks.sft.tasks import Selection

from ._common import BudgetConfig, keep_top, labelled, sample_mean, token_losses, train_reference


@register_method("perplexity_filter", family="sft.sample_selection", config=BudgetConfig, kind="baseline")
def perplexity_filter(data, cfg: BudgetConfig, ctx):
    """Keep the samples whose responses have the lowest perplexity under the reference (seed-trained) model."""
    pad = data.tokenizer.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, ctx.rng)
    loss = sample_mean(token_losses(ref, data.examples, pad), [labelled(e) for e in data.examples])
    return Selection(sample_weights=keep_top(-loss, cfg.budget))
