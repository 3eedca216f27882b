from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, mean_loss, train_pairs


class Config(PairTrainConfig):
    beta: float = Field(2.0, gt=0.0, description="SimPO's beta (the paper's range 2-2.5)")
    gamma: float = Field(1.0, ge=0.0, description="target reward margin (TRL's simpo_gamma; the paper's gamma/beta ~ 0.5)")


@register_method("simpo", family="preference", config=Config, paper="SimPO (Meng et al., NeurIPS 2024)")
def simpo(data, cfg: Config, ctx):
    """Reference-free, length-normalised preference loss with a target margin (TRL CPO 'simpo', cpo_alpha 0)."""
    return train_pairs(data, cfg, ctx.rng, mean_loss(
        lambda b: L.simpo_loss(b.pi_w, b.pi_l, b.len_w, b.len_l, cfg.beta, cfg.gamma)), needs_ref=False, log=ctx.log)
