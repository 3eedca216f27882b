from __future__ import annotations

from pydantic import Field

from bench.api import register_method

from ._train import PairTrainConfig, train_kto


class Config(PairTrainConfig):
    desirable_weight: float = Field(1.0, gt=0.0)
    undesirable_weight: float = Field(1.0, gt=0.0)


@register_method("kto", family="preference", config=Config, paper="KTO (Ethayarajh et al., ICML 2024)")
def kto(data, cfg: Config, ctx):
    """KTO (TRL KTOTrainer, loss_type 'kto') on the pairs unpaired into desirable / undesirable examples, with the KL
    reference point from mismatched completions."""
    return train_kto(data, cfg, ctx.rng, cfg.desirable_weight, cfg.undesirable_weight, log=ctx.log)
