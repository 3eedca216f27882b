from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method
from bench.lm import token_nll

from ._loop import UnlearnConfig, forget_batch, retain_batch, run


@register_method("kl_min", family="unlearning", config=UnlearnConfig, kind="baseline", paper="Maini et al., 2024 (TOFU)")
def kl_min(data, cfg: UnlearnConfig, ctx):
    """Ascend the forget NLL while keeping the next-token distributions on retain data close (KL) to the target's."""
    def loss(m, tok, rng, ref):
        rb = retain_batch(data, rng, cfg.batch_size)
        lp = F.log_softmax(m(input_ids=rb["input_ids"], attention_mask=rb["attention_mask"]).logits, -1)
        with torch.no_grad():
            lq = F.log_softmax(ref(input_ids=rb["input_ids"], attention_mask=rb["attention_mask"]).logits, -1)
        mask = rb["attention_mask"].bool()
        kl = (lq.exp() * (lq - lp)).sum(-1)[mask].mean()
        return -token_nll(m, forget_batch(data, rng, cfg.batch_size), reduction="mean") + kl

    return run(data, cfg, ctx.rng, loss, needs_ref=True, log=ctx.log)
