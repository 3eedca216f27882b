from __future__ import annotations

from pydantic import Field

from bench.api import register_method

from ._mix import easy_to_hard, mixed_loss, route_small_margin
from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    route_quantile: float = Field(0.3, ge=0.0, le=1.0, description="pairs below this margin quantile get the SFT loss")


@register_method("mixdpo", family="preference", config=Config, paper="MixDPO (Pang, Zhu, Di et al., 2026)")
def mixdpo(data, cfg: Config, ctx):
    """Curriculum easy -> hard by margin; pairs below the margin threshold get the SFT loss on the chosen response
    only, the rest the DPO loss."""
    m = data.margins
    route = route_small_margin(m, cfg.route_quantile)
    ctx.add_artifact("routed_fraction", float(route.mean()))
    return train_pairs(data, cfg, ctx.rng, mixed_loss(cfg.beta), order=easy_to_hard(m), route=route, log=ctx.log)
