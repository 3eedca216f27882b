"""Random detector (null baseline): uniform scores, each example flagged independently with probability
`flag_rate`. Its expected precision is the noise rate r, its recall the flag rate q, so F1 = 2rq / (r + q), which is
r when q = r; its AUROC is 0.5."""
from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput


class Config(StrictConfig):
    flag_rate: float = Field(0.4, ge=0.0, le=1.0, description="probability of flagging each example")


@register_method("random_detector", family="label_noise.detection", config=Config, kind="null")
def random_detector(data, cfg: Config, ctx):
    """Uniform random scores and flags."""
    rng = ctx.rng
    n = len(data.y)
    return DetectionOutput(scores=rng.random(n), flags=rng.random(n) < cfg.flag_rate)
