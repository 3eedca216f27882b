from __future__ import annotations

from bench.api import register_method


@register_method("retain_model", family="unlearning", kind="reference", privileges={"retain_model"})
def retain_model(view, cfg, ctx):
    """The model fine-tuned on the retain data only (the gold standard unlearning aims at; never ranked). It holds the
    `retain_model` privilege, which the family marks unranked."""
    if view.retain_model is None:
        raise RuntimeError("the task did not grant the retain_model privilege")
    return view.retain_model
