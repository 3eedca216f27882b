from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.federated.contract import FLView, Mechanism, RoundView


class Config(StrictConfig):
    fraction: float = Field(0.5, gt=0.0, le=1.0, description="share of clients drawn each round")


class RandomSelection(Mechanism):
    reward_grid = (0.0,)

    def __init__(self, fraction: float):
        self.fraction = fraction

    def select(self, round_, n_clients, rng):
        k = max(1, int(round(self.fraction * n_clients)))
        return sorted(rng.permutation(n_clients)[:k].tolist())

    def score(self, view: RoundView) -> np.ndarray:
        return np.zeros(len(view.pids))


@register_method("random_selection", family="federated.incentives", config=Config, kind="null")
def random_selection(data: FLView, cfg: Config, ctx):
    """A random fraction of the clients each round, FedAvg, no payments."""
    return RandomSelection(cfg.fraction)
