from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._crowdkit import to_frame


class Config(StrictConfig):
    n_iter: int = Field(100, ge=1, le=10_000, description="EM iterations (crowd-kit stops earlier at tol 1e-5)")


@register_method("dawid_skene", family="crowd.cheating", config=Config, kind="baseline",
                 paper="Dawid & Skene, 1979 (crowd-kit implementation)")
def dawid_skene(data, cfg: Config, ctx):
    """Estimated worker accuracy from crowd-kit's Dawid-Skene: sum_k prior_k * P(says k | truth k)."""
    from crowdkit.aggregation import DawidSkene

    ds = DawidSkene(n_iter=cfg.n_iter).fit(to_frame(data))
    errors, priors = ds.errors_, ds.priors_
    out = np.zeros(data.n_workers)
    for w in range(data.n_workers):
        if w not in errors.index.get_level_values(0):
            out[w] = np.nan
            continue
        E = errors.loc[w]
        out[w] = sum(priors.get(k, 0.0) * E.loc[k, k] for k in priors.index if k in E.index and k in E.columns)
    return np.where(np.isnan(out), np.nanmedian(out), out)
