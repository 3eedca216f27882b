"""Instruction-Following Difficulty (Li et al., NAACL 2024, "Cherry LLM"): IFD = L(response | instruction) /
L(response alone), the mean response-token losses with and without the instruction, under the reference model.
Keeps the highest-IFD samples with IFD < 1 (IFD >= 1 means the instruction does not help: discarded first)."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.lm import encode_sft
from tasks.sft.contract import Selection

from ._common import BudgetConfig, keep_top, labelled, reference_losses, reference_model, sample_mean


@register_method("ifd", family="sft.sample_selection", config=BudgetConfig, kind="baseline", paper="Li et al., NAACL 2024")
def ifd(data, cfg: BudgetConfig, ctx):
    """Highest instruction-following difficulty first."""
    tok = data.tokenizer
    ref = reference_model(data, cfg)
    cond = sample_mean(reference_losses(data, ref), [labelled(e) for e in data.examples])
    alone_ex = [encode_sft(tok, tok.eos_token, r, max_length=data.max_length, name=f"response {i} alone")
                for i, (_, r) in enumerate(data.texts)]
    alone = sample_mean(reference_losses(data, ref, alone_ex), [labelled(e) for e in alone_ex])
    score = cond / np.maximum(alone, 1e-8)
    score = np.where(score < 1.0, score, -score)
    return Selection(sample_weights=keep_top(score, cfg.budget))
