from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig
from tasks.sft.contract import Selection


class Config(StrictConfig):
    budget: float = 0.5


@register_method("random_subset", family="sft.sample_selection", config=Config, kind="null")
def random_subset(data, cfg: Config, ctx):
    """A uniformly random `budget` fraction of the samples."""
    n = len(data.examples)
    w = np.zeros(n, dtype=np.float32)
    w[ctx.rng.permutation(n)[: max(1, int(round(cfg.budget * n)))]] = 1
    return Selection(sample_weights=w)
