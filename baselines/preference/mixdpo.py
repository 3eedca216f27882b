from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.lm import preference_losses as L

from ._mix import easy_to_hard, route_small_margin
from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    route_quantile: float = 0.3


@register_method("mixdpo", family="preference", config=Config, paper="MixDPO (Pang, Zhu, Di et al., 2026)")
def mixdpo(data, cfg: Config, ctx):
    """Curriculum easy -> hard by margin; pairs below the margin threshold get the SFT loss on the chosen response
    only, the rest the DPO loss."""
    m = np.array([p.margin for p in data.pairs])
    route = route_small_margin(m, cfg.route_quantile)
    ctx.add_artifact("routed_fraction", float(route.mean()))
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.dpo_loss(pw, pl, rw, rl, cfg.beta),
                       order=easy_to_hard(m), sft_mask=route, log=ctx.log)
