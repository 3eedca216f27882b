"""Margin-defined difficulty (MixDPO, Pang, Zhu, Di et al., 2026): a pair's difficulty is its (visible) margin, small
= hard. The curriculum visits pairs easy -> hard (descending margin); routing sends pairs below the margin threshold
(the `route_quantile` quantile of margins) to the SFT loss on the chosen response, the rest to the DPO loss. A batch's
loss is the mean over its pairs of each pair's own objective (token-averaged NLL for routed pairs, DPO otherwise)."""
from __future__ import annotations

import numpy as np
import torch

from bench.lm import preference_losses as L


def easy_to_hard(margins: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(margins), kind="stable")


def route_small_margin(margins: np.ndarray, quantile: float) -> np.ndarray:
    m = np.asarray(margins)
    return m < np.quantile(m, quantile)


def mixed_loss(beta: float):
    """Per pair: SFT on the chosen response if routed, else DPO; averaged over the batch."""

    def loss(b):
        dpo = L.dpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l, beta)
        if b.route is None:
            return dpo.mean()
        return torch.where(b.route, L.sft_loss(b.pi_w, b.len_w), dpo).mean()

    return loss
