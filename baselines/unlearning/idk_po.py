from __future__ import annotations

import torch

from bench.api import register_method
from bench.lm import sequence_logprob, token_nll
from bench.lm.preference_losses import dpo_loss

from ._loop import UnlearnConfig, paired_forget_idk, retain_batch, run


class Config(UnlearnConfig):
    beta: float = 0.1


@register_method("idk_po", family="unlearning", config=Config, paper="Maini et al., 2024 (IdkPO / preference-style)")
def idk_po(data, cfg: Config, ctx):
    """DPO with chosen = an "I don't know" answer and rejected = the forget answer, plus the retain NLL."""
    def loss(m, tok, rng, ref):
        bad, good = paired_forget_idk(data, rng, cfg.batch_size)
        with torch.no_grad():
            rw, rl = sequence_logprob(ref, good), sequence_logprob(ref, bad)
        pref = dpo_loss(sequence_logprob(m, good), sequence_logprob(m, bad), rw, rl, cfg.beta).mean()
        return pref + token_nll(m, retain_batch(data, rng, cfg.batch_size), reduction="mean")

    return run(data, cfg, ctx.rng, loss, needs_ref=True, log=ctx.log)
