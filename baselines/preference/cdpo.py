from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    eps: float = 0.1


@register_method("cdpo", family="preference", config=Config, paper="conservative DPO / label smoothing (Mitchell, 2023)")
def cdpo(data, cfg: Config, ctx):
    """conservative DPO / label smoothing (Mitchell, 2023) on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.cdpo_loss(pw, pl, rw, rl, cfg.beta, cfg.eps), log=ctx.log)
