from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, mean_loss, train_pairs


class Config(PairTrainConfig):
    pass  # beta is IPO's tau (TRL's naming and default 0.1)


@register_method("ipo", family="preference", config=Config, paper="IPO (Azar et al., AISTATS 2024)")
def ipo(data, cfg: Config, ctx):
    """IPO, length-normalised as TRL does (per-token log-ratio margins), on all pairs, shuffled."""
    return train_pairs(data, cfg, ctx.rng, mean_loss(
        lambda b: L.ipo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, b.len_w, b.len_l, cfg.beta)), log=ctx.log)
