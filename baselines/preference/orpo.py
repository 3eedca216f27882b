from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    pass  # beta is ORPO's lambda (TRL's naming and default 0.1)


@register_method("orpo", family="preference", config=Config, paper="ORPO (Hong et al., EMNLP 2024)")
def orpo(data, cfg: Config, ctx):
    """Reference-free odds-ratio preference loss plus NLL of the chosen sequences (TRL ORPOTrainer)."""
    return train_pairs(data, cfg, ctx.rng,
                       lambda b: L.orpo_loss(b.pi_w / b.len_w, b.pi_l / b.len_l, b.nll_full_w, cfg.beta),
                       needs_ref=False, full_chosen=True, log=ctx.log)
