from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    alpha: float = Field(1.0, ge=0.0, description="weight of the NLL of the chosen responses")


@register_method("rpo", family="preference", config=Config, kind="baseline",
                 paper="DPO + NLL / RPO (Pang et al., NeurIPS 2024)")
def rpo(data, cfg: Config, ctx):
    """DPO + alpha * NLL of the chosen responses on every pair (TRL loss_type ['sigmoid', 'sft'], weights [1, alpha]):
    SFT and DPO on all pairs at once, where MixDPO splits the pairs between them by margin."""
    return train_pairs(data, cfg, ctx.rng,
                       lambda b: L.rpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, b.len_w, cfg.beta, cfg.alpha), log=ctx.log)
