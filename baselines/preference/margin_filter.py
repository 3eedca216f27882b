from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import PairTrainConfig, mean_loss, train_pairs


class Config(PairTrainConfig):
    quantile: float = Field(0.3, ge=0.0, lt=1.0, description="drop the pairs below this quantile of the margins")


@register_method("margin_filter", family="preference", config=Config, kind="baseline")
def margin_filter(data, cfg: Config, ctx):
    """DPO after discarding the small-margin (ambiguous) pairs -- the common heuristic MixDPO revisits."""
    m = data.margins
    keep = np.flatnonzero(m >= np.quantile(m, cfg.quantile))
    ctx.add_artifact("kept_fraction", float(len(keep) / len(m)))
    return train_pairs(data, cfg, ctx.rng, mean_loss(lambda b: L.dpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, cfg.beta)),
                       keep=keep, log=ctx.log)
