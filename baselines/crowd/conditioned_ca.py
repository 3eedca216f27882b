from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from baselines.common.peer_prediction import ca_scores, fill_missing


class Config(StrictConfig):
    fallback_unconditioned: bool = Field(True, description="workers with no item carrying an LLM label get their "
                                         "unconditioned CA score (else the median)")


@register_method("conditioned_ca", family="crowd.cheating", config=Config,
                 paper="Zhang, Pang, Zhu et al., 2025 (peer prediction conditioned on LLM labels)")
def conditioned_ca(data, cfg: Config, ctx):
    """Correlated agreement computed within strata of the requester's LLM labels (training-free)."""
    s, n = ca_scores(data.items, data.workers, data.labels, data.n_items, data.n_workers, data.n_classes,
                     strata=data.llm_labels)
    if cfg.fallback_unconditioned and (n == 0).any():
        u, _ = ca_scores(data.items, data.workers, data.labels, data.n_items, data.n_workers, data.n_classes)
        s = np.where(n == 0, u, s)
    ctx.add_artifact("workers_without_llm_items", int((n == 0).sum()))
    return fill_missing(s)
