from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, mean_loss, train_pairs


class Config(PairTrainConfig):
    eps: float = Field(0.1, ge=0.0, le=0.5, description="assumed label-flip rate (label smoothing)")


@register_method("cdpo", family="preference", config=Config, paper="conservative DPO / label smoothing (Mitchell, 2023)")
def cdpo(data, cfg: Config, ctx):
    """Conservative DPO (label-smoothed sigmoid loss) on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, mean_loss(
        lambda b: L.cdpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, cfg.beta, cfg.eps)), log=ctx.log)
