from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.federated.contract import FLView, Mechanism, RoundView


class NoIncentive(Mechanism):
    reward_grid = (0.0,)

    def score(self, view: RoundView) -> np.ndarray:
        return np.zeros(len(view.pids))


@register_method("no_incentive", family="federated.incentives", kind="baseline")
def no_incentive(data: FLView, cfg, ctx):
    """Everyone participates, plain FedAvg (weights = reported sizes), no payments."""
    return NoIncentive()
