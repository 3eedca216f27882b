from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    quantile: float = 0.3  # drop the pairs below this margin quantile


@register_method("margin_filter", family="preference", config=Config, kind="baseline")
def margin_filter(data, cfg: Config, ctx):
    """DPO after discarding the small-margin (ambiguous) pairs — the common heuristic MixDPO revisits."""
    m = np.array([p.margin for p in data.pairs])
    keep = [p for p, mm in zip(data.pairs, m) if mm >= np.quantile(m, cfg.quantile)]
    data.pairs = keep
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.dpo_loss(pw, pl, rw, rl, cfg.beta),
                       log=ctx.log)
