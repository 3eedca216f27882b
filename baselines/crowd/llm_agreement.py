from __future__ import annotations

import numpy as np

from bench.api import register_method

from baselines.common.peer_prediction import fill_missing


@register_method("llm_agreement", family="crowd.cheating", kind="baseline",
                 description="Naive: 1 - fraction of a worker's labels equal to the requester's LLM label")
def llm_agreement(data, cfg, ctx):
    """The one-line score a requester would try first: trust = 1 - (fraction of the worker's labels, on items where
    the requester holds an LLM label, that equal it). Workers with no such item get the median."""
    llm = data.llm_labels[data.items]
    held = llm >= 0
    same = (data.labels == llm) & held
    num = np.bincount(data.workers, weights=same, minlength=data.n_workers)
    den = np.bincount(data.workers, weights=held, minlength=data.n_workers)
    return fill_missing(np.where(den > 0, 1.0 - num / np.maximum(den, 1), np.nan))
