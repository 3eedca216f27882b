from __future__ import annotations

import numpy as np

from bench.api import register_method


@register_method("label_nothing", family="fairness.active_sampling", kind="baseline")
def label_nothing(view, cfg, ctx):
    """Spend no labels: the start model throughout. The budget is a maximum, so this is what a method that stops
    early tends towards; it separates "labelled fairer examples" from "labelled fewer examples"."""
    return np.zeros(0, dtype=int)
