from __future__ import annotations

from pydantic import Field

from bench.api import register_method

from ._mix import mixed_loss, route_small_margin
from ._train import PairTrainConfig, train_pairs


class Config(PairTrainConfig):
    route_quantile: float = Field(0.3, ge=0.0, le=1.0, description="pairs below this margin quantile get the SFT loss")


@register_method("routing_only", family="preference", config=Config, kind="baseline")
def routing_only(data, cfg: Config, ctx):
    """MixDPO's routing alone: small-margin pairs get the SFT loss on the chosen response, the rest DPO; shuffled
    order (no curriculum)."""
    route = route_small_margin(data.margins, cfg.route_quantile)
    ctx.add_artifact("routed_fraction", float(route.mean()))
    return train_pairs(data, cfg, ctx.rng, mixed_loss(cfg.beta), route=route, log=ctx.log)
