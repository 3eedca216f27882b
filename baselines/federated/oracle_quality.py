from __future__ import annotations

import numpy as np

from bench.api import register_method

from ._mech import Mechanism, reported_sizes


class OracleQuality(Mechanism):
    needs_truth = True

    def aggregate(self, pids, updates, hists, W_global, X_probe, truth):
        moved = np.array([not np.allclose(u, W_global) for u in updates])
        q = np.array([truth[p] == "honest" for p in pids]) & moved
        w = reported_sizes(hists) * q
        return (w if w.sum() > 0 else reported_sizes(hists)), q.astype(float)


@register_method("oracle_quality", family="federated.incentives", kind="oracle")
def oracle_quality(data, cfg, ctx):
    """Knows which clients are honest (never ranked): aggregates and pays only honest clients that did the work."""
    return OracleQuality()
