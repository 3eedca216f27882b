from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    eps: float = 0.1


@register_method("robust_dpo", family="preference", config=Config, paper="robust DPO (Chowdhury et al., ICML 2024)")
def robust_dpo(data, cfg: Config, ctx):
    """robust DPO (Chowdhury et al., ICML 2024) on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, lambda pw, pl, rw, rl, lw, ll: L.robust_dpo_loss(pw, pl, rw, rl, cfg.beta, cfg.eps), log=ctx.log)
