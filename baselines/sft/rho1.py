"""Rho-1-style selective language modelling (Lin et al., NeurIPS 2024): excess loss = loss_model - loss_ref scored
per token, keeping the top `keep_ratio` tokens *within each sample* (Rho-1 selects within each batch during
training; this static variant scores with the base model once, where token cleaning uses one global threshold)."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.sft.tasks import Selection

from ._common import RefConfig, labelled, train_reference
from .token_cleaning import token_influence


class Config(RefConfig):
    keep_ratio: float = 0.6


@register_method("rho1", family="sft.token_selection", config=Config, kind="baseline", paper="Lin et al., NeurIPS 2024")
def rho1(data, cfg: Config, ctx):
    """Per-sample top-k% excess loss."""
    pad = data.tokenizer.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, ctx.rng)
    out = []
    for s, e in zip(token_influence(data.base, ref, data.examples, pad), data.examples):
        m = labelled(e)
        w = np.zeros(len(s), dtype=np.float32)
        if m.any():
            thr = np.quantile(s[m], 1 - cfg.keep_ratio)
            w[(s >= thr) & m] = 1.0
        out.append(w)
    return Selection(token_weights=out)
