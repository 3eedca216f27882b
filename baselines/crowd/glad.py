from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig

from .dawid_skene import to_frame


class Config(StrictConfig):
    n_iter: int = 50


@register_method("glad", family="crowd.cheating", config=Config, kind="baseline",
                 paper="Whitehill et al., NeurIPS 2009 (crowd-kit implementation)")
def glad(data, cfg: Config, ctx):
    """GLAD worker expertise alpha (crowd-kit)."""
    from crowdkit.aggregation import GLAD

    g = GLAD(n_iter=cfg.n_iter, silent=True).fit(to_frame(data))
    a = g.alphas_
    return np.array([float(a.get(w, np.nan)) for w in range(data.n_workers)])
