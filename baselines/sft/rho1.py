"""Rho-1 selective language modelling (Lin et al., NeurIPS 2024; microsoft/rho): a token's excess loss is the loss
of the model being trained minus that of a reference model trained on high-quality data (here: the clean seed set),
    excess(t) = loss_current(t) - loss_ref(t),
computed per batch during training, and only the top `keep_ratio` of the batch's response tokens by excess loss
get the loss. The current model's losses come from the training forward pass itself (detached); the reference
losses are computed once (cached). Runs as the harness's per-batch plug-in (`Selection.token_weight_fn`)."""
from __future__ import annotations

import numpy as np
import torch

from bench.api import register_method
from tasks.sft.contract import Selection

from ._common import RefConfig, pad_to, reference_losses, reference_model


class Config(RefConfig):
    keep_ratio: float = 0.6


@register_method("rho1", family="sft.token_selection", config=Config, kind="baseline", paper="Lin et al., NeurIPS 2024")
def rho1(data, cfg: Config, ctx):
    """Per-batch top-k% excess loss against the seed-trained reference, scored with the model being trained."""
    ref = reference_model(data, cfg)
    ref_loss = reference_losses(data, ref)
    del ref

    def fn(view):
        excess = view.nll.float().cpu() - pad_to([ref_loss[int(i)] for i in view.indices], view.nll.shape[1])
        m = view.mask.cpu()
        w = torch.zeros_like(excess)
        if m.any():
            vals = excess[m]
            k = max(1, int(np.ceil(cfg.keep_ratio * vals.numel())))
            thr = torch.topk(vals, k).values.min()
            w[m & (excess >= thr)] = 1.0
        return w

    return Selection(token_weight_fn=fn)
