from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, mean_loss, train_pairs


class Config(PairTrainConfig):
    pass


@register_method("dpo", family="preference", config=Config, paper="DPO (Rafailov et al., NeurIPS 2023)")
def dpo(data, cfg: Config, ctx):
    """DPO (TRL loss_type 'sigmoid') on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, mean_loss(lambda b: L.dpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, cfg.beta)),
                       log=ctx.log)
