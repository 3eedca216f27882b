from __future__ import annotations

from bench.api import register_method

from ._crowdkit import per_worker, to_frame


@register_method("wawa", family="crowd.cheating", kind="baseline",
                 paper="Worker Agreement With Aggregate (crowd-kit Wawa)")
def wawa(data, cfg, ctx):
    """Wawa skill: a worker's agreement with the majority vote (crowd-kit; the worker's own label is part of the vote,
    unlike `mv_agreement`)."""
    from crowdkit.aggregation import Wawa

    return per_worker(Wawa().fit(to_frame(data)).skills_, data.n_workers)
