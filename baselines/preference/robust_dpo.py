from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, mean_loss, train_pairs


class Config(PairTrainConfig):
    eps: float = Field(0.1, ge=0.0, lt=0.5, description="assumed label-flip rate (TRL's label_smoothing)")


@register_method("robust_dpo", family="preference", config=Config, paper="robust DPO (Chowdhury et al., ICML 2024)")
def robust_dpo(data, cfg: Config, ctx):
    """Robust DPO (TRL loss_type 'robust': unbiased under flip rate eps) on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, mean_loss(
        lambda b: L.robust_dpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, cfg.beta, cfg.eps)), log=ctx.log)
