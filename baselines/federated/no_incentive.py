from __future__ import annotations

import numpy as np

from bench.api import register_method

from ._mech import Mechanism, reported_sizes


class NoIncentive(Mechanism):
    def aggregate(self, pids, updates, hists, W_global, X_probe, truth):
        return reported_sizes(hists), np.ones(len(pids))


@register_method("no_incentive", family="federated.incentives", kind="baseline")
def no_incentive(data, cfg, ctx):
    """Everyone participates, plain FedAvg (weights = reported sizes), equal payments."""
    return NoIncentive()
