from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig
from tasks.sft.contract import Selection

from ._common import keep_top


class Config(StrictConfig):
    budget: float = 0.5


@register_method("length_select", family="sft.sample_selection", config=Config, kind="baseline",
                 paper="Zhao et al., ICML 2024 (Long is more)")
def length_select(data, cfg: Config, ctx):
    """Keep the samples with the longest responses."""
    return Selection(sample_weights=keep_top(np.array([len(r) for _, r in data.texts], float), cfg.budget))
