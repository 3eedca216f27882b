from __future__ import annotations

from bench.api import register_method


@register_method("target_model", family="unlearning", kind="null")
def target_model(view, cfg, ctx):
    """No unlearning: the fine-tuned target model as it is (the family's null method)."""
    return view.model
