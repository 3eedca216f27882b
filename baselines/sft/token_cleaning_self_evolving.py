"""Token cleaning with a self-evolving reference (Pang et al., 2025): the pool is split into `chunks`; chunk c is
scored with influence = loss_base - loss_ref_c and cleaned (top `keep_ratio` of its tokens); the reference is then
trained further on the cleaned chunk and becomes ref_{c+1}. The first reference is trained on the seed data."""
from __future__ import annotations

import copy

import numpy as np

from bench.api import register_method
from bench.lm import TrainConfig, train_sft
from tasks.sft.tasks import Selection

from ._common import RefConfig, global_top, labelled, train_reference
from .token_cleaning import token_influence


class Config(RefConfig):
    keep_ratio: float = 0.6
    chunks: int = 3
    chunk_steps: int = 30


@register_method("token_cleaning_self_evolving", family="sft.token_selection", config=Config,
                 paper="Pang et al., 2025 (self-evolving ref)")
def token_cleaning_self_evolving(data, cfg: Config, ctx):
    """Iteratively refreshed reference model."""
    rng = ctx.rng
    pad = data.tokenizer.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, rng)
    n = len(data.examples)
    order = np.arange(n)
    weights: list = [None] * n
    for c in np.array_split(order, cfg.chunks):
        ex = [data.examples[i] for i in c]
        w = global_top(token_influence(data.base, ref, ex, pad), [labelled(e) for e in ex], cfg.keep_ratio)
        for i, wi in zip(c, w):
            weights[i] = wi
        ref = copy.deepcopy(ref)
        train_sft(ref, ex, pad, TrainConfig(lr=cfg.ref_lr, batch_size=16, max_steps=cfg.chunk_steps), rng,
                  token_weights=w)
        ref.eval()
    return Selection(token_weights=weights)
