from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._crowdkit import per_worker, to_frame


class Config(StrictConfig):
    n_iter: int = Field(100, ge=1, le=10_000, description="EM iterations (crowd-kit stops earlier at tol 1e-5)")


@register_method("one_coin", family="crowd.cheating", config=Config, kind="baseline",
                 paper="one-coin Dawid-Skene (crowd-kit OneCoinDawidSkene)")
def one_coin(data, cfg: Config, ctx):
    """One-coin Dawid-Skene: each worker has a single accuracy (errors uniform over the other classes); the estimated
    accuracy is the trust score."""
    from crowdkit.aggregation import OneCoinDawidSkene

    m = OneCoinDawidSkene(n_iter=cfg.n_iter).fit(to_frame(data))
    return per_worker(m.skills_, data.n_workers)
