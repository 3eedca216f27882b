from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.federated.contract import FLView, Mechanism, RoundView


class Config(StrictConfig):
    reward_grid: tuple[float, ...] = Field((0.0, 0.0025, 0.005, 0.01, 0.02, 0.04),
                                           description="reward levels the leader chooses among")


class SizeReward(Mechanism):
    def __init__(self, reward_grid: tuple[float, ...]):
        self.reward_grid = tuple(reward_grid)

    def score(self, view: RoundView) -> np.ndarray:
        n = view.reported_sizes.astype(float)
        return n / max(n.mean(), 1e-12)


@register_method("size_reward", family="federated.incentives", config=Config, kind="baseline")
def size_reward(data: FLView, cfg: Config, ctx):
    """FedAvg; pays each client in proportion to its reported data size (effort-blind incentive)."""
    return SizeReward(cfg.reward_grid)
