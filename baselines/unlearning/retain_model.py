from __future__ import annotations

from bench.api import register_method


@register_method("retain_model", family="unlearning", kind="reference")
def retain_model(data, cfg, ctx):
    """The model fine-tuned on the retain data only (the gold standard unlearning aims at; never ranked)."""
    return data.model  # the task hands this method the retain-only model
