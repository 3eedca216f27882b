from __future__ import annotations

from bench.api import register_method

from ._mech import Mechanism, reported_sizes


class SizeReward(Mechanism):
    def aggregate(self, pids, updates, hists, W_global, X_probe, truth):
        n = reported_sizes(hists)
        return n, n / n.sum()


@register_method("size_reward", family="federated.incentives", kind="baseline")
def size_reward(data, cfg, ctx):
    """FedAvg; payments proportional to the reported data size (what effort-blind incentive schemes do)."""
    return SizeReward()
