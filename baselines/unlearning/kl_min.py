"""KL minimisation (TOFU's baseline; open-unlearning's GradDiff with retain_loss_type KL):
L = -NLL(forget) + KL(p_target || p_model) on retain sequences, averaged over their non-padding positions
(open-unlearning's `kl_div(..., reduction='batchmean')` on flattened logits also averages padded positions)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import Reference, UnlearnConfig, forget_batch, retain_batch, run


def retain_kl(model, ref: Reference, batch: dict) -> torch.Tensor:
    kw = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    lp = F.log_softmax(model(**kw).logits, -1)
    lq = ref(lambda r: F.log_softmax(r(**kw).logits, -1))
    mask = batch["attention_mask"].bool()
    return (lq.exp() * (lq - lp)).sum(-1)[mask].mean()


@register_method("kl_min", family="unlearning", config=UnlearnConfig, kind="baseline",
                 paper="Maini et al., 2024 (TOFU)", privileges={"retain_data"})
def kl_min(view, cfg: UnlearnConfig, ctx):
    """Ascend the forget NLL while keeping the next-token distributions on retain data close (KL) to the target's."""
    ref = Reference(view.model)

    def loss(m, rng):
        return (-lm.mean_nll(m, forget_batch(view, rng, cfg.batch_size))
                + retain_kl(m, ref, retain_batch(view, rng, cfg.batch_size)))

    return run(view, cfg, ctx.rng, loss, ctx)
