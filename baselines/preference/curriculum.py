from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.lm import preference_losses as L

from ._mix import easy_to_hard
from ._train import PairTrainConfig, train_pairs


@register_method("curriculum", family="preference", config=PairTrainConfig, kind="baseline")
def curriculum(data, cfg: PairTrainConfig, ctx):
    """DPO with pairs ordered easy -> hard by margin (MixDPO's curriculum alone, no routing)."""
    order = easy_to_hard(np.array([p.margin for p in data.pairs]))
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.dpo_loss(pw, pl, rw, rl, cfg.beta),
                       order=order, log=ctx.log)
