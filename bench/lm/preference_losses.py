"""Pairwise preference losses on sequence log-probabilities (per pair; the caller averages).

Notation: pi_w, pi_l = policy log-probs of chosen / rejected responses, ref_w, ref_l = reference model's;
h = (pi_w - ref_w) - (pi_l - ref_l) (the implicit reward margin / beta).
- DPO (Rafailov et al. 2023):        -log sigmoid(beta h)
- cDPO (label smoothing eps):        -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)
- robust DPO (Chowdhury et al. 2024): [-(1 - eps) log sigmoid(beta h) + eps log sigmoid(-beta h)] / (1 - 2 eps)
- IPO (Azar et al. 2024):            (h - 1 / (2 tau))^2
- SimPO (Meng et al. 2024, no ref):  -log sigmoid(beta (pi_w / |y_w| - pi_l / |y_l|) - gamma)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def dpo_loss(pi_w, pi_l, ref_w, ref_l, beta: float = 0.1):
    return -F.logsigmoid(beta * ((pi_w - ref_w) - (pi_l - ref_l)))


def cdpo_loss(pi_w, pi_l, ref_w, ref_l, beta: float = 0.1, eps: float = 0.1):
    z = beta * ((pi_w - ref_w) - (pi_l - ref_l))
    return -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)


def robust_dpo_loss(pi_w, pi_l, ref_w, ref_l, beta: float = 0.1, eps: float = 0.1):
    if not 0 <= eps < 0.5:
        raise ValueError("eps must be in [0, 0.5)")
    z = beta * ((pi_w - ref_w) - (pi_l - ref_l))
    return (-(1 - eps) * F.logsigmoid(z) + eps * F.logsigmoid(-z)) / (1 - 2 * eps)


def ipo_loss(pi_w, pi_l, ref_w, ref_l, tau: float = 0.1):
    h = (pi_w - ref_w) - (pi_l - ref_l)
    return (h - 1.0 / (2 * tau)) ** 2


def simpo_loss(pi_w, pi_l, len_w, len_l, beta: float = 2.0, gamma: float = 0.5):
    return -F.logsigmoid(beta * (pi_w / len_w - pi_l / len_l) - gamma)


def sft_loss(pi_w, len_w):
    """Token-averaged NLL of the chosen response (what MixDPO routes small-margin pairs to)."""
    return -pi_w / len_w


__all__ = ["dpo_loss", "cdpo_loss", "robust_dpo_loss", "ipo_loss", "simpo_loss", "sft_loss", "torch"]
