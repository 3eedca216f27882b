from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._crowdkit import to_frame


class Config(StrictConfig):
    n_restarts: int = Field(1, ge=1, le=100, description="random restarts (crowd-kit's default is 10, which costs 10x; "
                                                         "the best marginal likelihood is kept)")
    n_iter: int = Field(20, ge=1, le=10_000, description="variational-Bayes iterations per restart (crowd-kit's default "
                                                         "50; smoke runs: 1 restart, at most 3 iterations)")


@register_method("mace", family="crowd.cheating", config=Config, kind="baseline",
                 paper="Hovy et al., NAACL 2013 (crowd-kit MACE)")
def mace(data, cfg: Config, ctx):
    """MACE competence: the posterior probability that a worker is *not* spamming (knows the answer) on a label."""
    from crowdkit.aggregation import MACE

    frame = to_frame(data)
    restarts, iters = (1, min(cfg.n_iter, 3)) if ctx.smoke else (cfg.n_restarts, cfg.n_iter)
    m = MACE(n_restarts=restarts, n_iter=iters, random_state=int(ctx.rng.integers(2**31))).fit(frame)
    _, names = pd.factorize(frame["worker"])  # MACE's internal worker order
    competence = dict(zip(names.tolist(), m.spamming_[:, 1].tolist()))
    out = np.array([competence.get(w, np.nan) for w in range(data.n_workers)])
    return np.where(np.isnan(out), np.nanmedian(out), out)
