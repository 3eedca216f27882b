from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    tau: float = 0.1


@register_method("ipo", family="preference", config=Config, paper="IPO (Azar et al., AISTATS 2024)")
def ipo(data, cfg: Config, ctx):
    """IPO (Azar et al., AISTATS 2024) on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.ipo_loss(pw, pl, rw, rl, cfg.tau), log=ctx.log)
