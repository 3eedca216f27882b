from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._mix import easy_to_hard
from ._train import PairTrainConfig, mean_loss, train_pairs


@register_method("curriculum", family="preference", config=PairTrainConfig, kind="baseline")
def curriculum(data, cfg: PairTrainConfig, ctx):
    """DPO with pairs ordered easy -> hard by margin (MixDPO's curriculum alone, no routing)."""
    return train_pairs(data, cfg, ctx.rng, mean_loss(lambda b: L.dpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, cfg.beta)),
                       order=easy_to_hard(data.margins), log=ctx.log)
