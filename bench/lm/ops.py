"""Batched per-token loss and sequence log-probabilities."""
from __future__ import annotations

from .data import IGNORE


def token_nll(model, batch: dict, reduction: str = "none"):
    """Per-token negative log-likelihood aligned with `labels` (position t scores labels[t] given tokens < t).

    Returns (nll [B, T], mask [B, T]) where mask marks tokens with a label (not -100, not padding); nll is 0 where
    mask is 0. Position 0 never has a prediction and is always masked.
    """
    import torch
    import torch.nn.functional as F

    dev = next(model.parameters()).device
    if batch["input_ids"].device != dev:
        batch = {k: v.to(dev) if hasattr(v, "to") else v for k, v in batch.items()}
    out = model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"))
    logits = out.logits[:, :-1, :].float()
    tgt = batch["labels"][:, 1:]
    mask = tgt != IGNORE
    nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.clamp_min(0).reshape(-1), reduction="none")
    nll = nll.view(tgt.shape) * mask
    B = tgt.size(0)
    pad = torch.zeros((B, 1), dtype=nll.dtype, device=nll.device)
    nll = torch.cat([pad, nll], dim=1)
    mask = torch.cat([torch.zeros((B, 1), dtype=torch.bool, device=mask.device), mask], dim=1)
    if reduction == "none":
        return nll, mask
    if reduction == "mean":
        return nll.sum() / mask.sum().clamp_min(1)
    raise ValueError(reduction)


def sequence_logprob(model, batch: dict, average: bool = False):
    """Sum (or mean) over labelled tokens of log p(token | prefix), per sequence: [B]."""
    nll, mask = token_nll(model, batch)
    s = -(nll.sum(dim=1))
    if average:
        return s / mask.sum(dim=1).clamp_min(1)
    return s
