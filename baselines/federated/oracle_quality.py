from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.federated.contract import FLView, Mechanism, RoundView


class Config(StrictConfig):
    reward_grid: tuple[float, ...] = Field((0.0, 0.0025, 0.005, 0.01, 0.02, 0.04),
                                           description="reward levels the leader chooses among")


class OracleQuality(Mechanism):
    def __init__(self, reward_grid: tuple[float, ...]):
        self.reward_grid = tuple(reward_grid)

    def score(self, view: RoundView) -> np.ndarray:
        t = view.truth
        n = t.n_used.astype(float)
        return n / max(n.mean(), 1e-12) * t.label_quality  # correct labels contributed, relative to the mean size

    def weights(self, view: RoundView, scores: np.ndarray) -> np.ndarray:
        t = view.truth
        return t.n_used * t.label_quality ** 2


@register_method("oracle_quality", family="federated.incentives", config=Config, kind="oracle",
                 privileges={"truth"})
def oracle_quality(data: FLView, cfg: Config, ctx):
    """Sees the clients' true label quality (never ranked): pays per correct label, weights n * quality^2."""
    return OracleQuality(cfg.reward_grid)
