from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    beta: float = 2.0
    gamma: float = 0.5


@register_method("simpo", family="preference", config=Config, paper="SimPO (Meng et al., NeurIPS 2024)")
def simpo(data, cfg: Config, ctx):
    """Reference-free, length-normalised preference loss with a target margin."""
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.simpo_loss(pw, pl, lw, ll, cfg.beta, cfg.gamma),
                       needs_ref=False, log=ctx.log)
