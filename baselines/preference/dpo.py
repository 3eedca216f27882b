from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    pass


@register_method("dpo", family="preference", config=Config, paper="DPO (Rafailov et al., NeurIPS 2023)")
def dpo(data, cfg: Config, ctx):
    """DPO (Rafailov et al., NeurIPS 2023) on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.dpo_loss(pw, pl, rw, rl, cfg.beta), log=ctx.log)
