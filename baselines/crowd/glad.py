from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._crowdkit import per_worker, to_frame


class Config(StrictConfig):
    n_iter: int = Field(50, ge=1, le=10_000, description="EM iterations of crowd-kit's GLAD (smoke runs: at most 3)")


@register_method("glad", family="crowd.cheating", config=Config, kind="baseline",
                 paper="Whitehill et al., NeurIPS 2009 (crowd-kit implementation)")
def glad(data, cfg: Config, ctx):
    """GLAD worker expertise alpha (crowd-kit)."""
    from crowdkit.aggregation import GLAD

    g = GLAD(n_iter=min(cfg.n_iter, 3) if ctx.smoke else cfg.n_iter, silent=True).fit(to_frame(data))
    return per_worker(g.alphas_, data.n_workers)
