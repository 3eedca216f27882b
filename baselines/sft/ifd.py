"""Instruction-Following Difficulty (Li et al., NAACL 2024, "Cherry LLM"): IFD = L(response | instruction) /
L(response alone), the mean response-token losses with and without the instruction, under the reference model.
Keeps the highest-IFD samples with IFD < 1 (IFD >= 1 means the instruction does not help: discarded first)."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.lm import encode_sft
from tasks.sft.tasks import Selection

from ._common import BudgetConfig, keep_top, labelled, sample_mean, token_losses, train_reference


@register_method("ifd", family="sft.sample_selection", config=BudgetConfig, kind="baseline", paper="Li et al., NAACL 2024")
def ifd(data, cfg: BudgetConfig, ctx):
    """Highest instruction-following difficulty first."""
    tok = data.tokenizer
    pad = tok.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, ctx.rng)
    cond = sample_mean(token_losses(ref, data.examples, pad), [labelled(e) for e in data.examples])
    alone_ex = [encode_sft(tok, tok.eos_token, r, max_length=data.max_length) for _, r in data.texts]
    alone = sample_mean(token_losses(ref, alone_ex, pad), [labelled(e) for e in alone_ex])
    score = cond / np.maximum(alone, 1e-8)
    score = np.where(score < 1.0, score, -score)
    return Selection(sample_weights=keep_top(score, cfg.budget))
