from __future__ import annotations

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._crowdkit import per_worker, to_frame


class Config(StrictConfig):
    n_iter: int = Field(50, ge=1, le=10_000, description="EM iterations of crowd-kit's GLAD (smoke runs: 1 iteration with a 2-step M-step)")


@register_method("glad", family="crowd.cheating", config=Config, kind="baseline",
                 paper="Whitehill et al., NeurIPS 2009 (crowd-kit implementation)")
def glad(data, cfg: Config, ctx):
    """GLAD worker expertise alpha (crowd-kit)."""
    from crowdkit.aggregation import GLAD

    kw = dict(n_iter=1, m_step_max_iter=2) if ctx.smoke else dict(n_iter=cfg.n_iter)
    g = GLAD(silent=True, **kw).fit(to_frame(data))
    return per_worker(g.alphas_, data.n_workers)
