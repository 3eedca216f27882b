from __future__ import annotations

from bench.api import register_method


@register_method("target_model", family="unlearning", kind="null")
def target_model(data, cfg, ctx):
    """No unlearning: the fine-tuned target model as it is."""
    return data.model
