from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig

from ._mech import Mechanism, reported_sizes


class Config(StrictConfig):
    fraction: float = 0.5


class RandomSelection(Mechanism):
    def __init__(self, fraction: float, rng: np.random.Generator):
        self.fraction, self.rng = fraction, rng

    def select(self, round_, n_clients, rng):
        k = max(1, int(round(self.fraction * n_clients)))
        return sorted(self.rng.permutation(n_clients)[:k].tolist())

    def aggregate(self, pids, updates, hists, W_global, X_probe, truth):
        return reported_sizes(hists), self.rng.random(len(pids))


@register_method("random_selection", family="federated.incentives", config=Config, kind="null")
def random_selection(data, cfg: Config, ctx):
    """A random fraction of clients each round, FedAvg, random payments."""
    return RandomSelection(cfg.fraction, ctx.rng)
