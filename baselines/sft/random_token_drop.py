from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig
from tasks.sft.contract import Selection


class Config(StrictConfig):
    keep_ratio: float = 0.6


@register_method("random_token_drop", family="sft.token_selection", config=Config, kind="null")
def random_token_drop(data, cfg: Config, ctx):
    """Keep each response token independently with probability keep_ratio."""
    rng = ctx.rng
    return Selection(token_weights=[(rng.random(len(e["input_ids"])) < cfg.keep_ratio).astype(np.float32)
                                    for e in data.examples])
