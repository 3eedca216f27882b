"""Base class of the federated mechanisms: which clients train each round, and how replies become aggregation
weights and scores (payments). `needs_truth=True` marks an oracle that is shown the true client types."""
from __future__ import annotations

import numpy as np


class Mechanism:
    needs_truth = False

    def select(self, round_: int, n_clients: int, rng: np.random.Generator) -> list[int]:
        return list(range(n_clients))

    def aggregate(self, pids, updates, hists, W_global, X_probe, truth):  # pragma: no cover - abstract
        raise NotImplementedError


def reported_sizes(hists: np.ndarray) -> np.ndarray:
    return hists.sum(axis=1)
