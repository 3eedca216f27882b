"""FIS: fair influential sampling (Pang, Wang, Zhu, Yao, Qian & Liu, NeurIPS 2024, "Fairness Without Harm"), as the
authors' code defines it (UCSC-REAL/FairnessWithoutHarm, strategy 2 with remove_pos):

1. influences are first-order gradient products, no inverse Hessian (baselines/fairness/_influence.py):
   accuracy infl_A(x, y) = - grad l(x, y) . grad L_val,  fairness infl_F(x, y) = - grad l(x, y) . grad F_val, with F
   the squared soft DP / EOp / EOd gap on the validation set (the task's notion by default);
2. the candidate's unknown label is the one with the smallest |infl_A| (the label whose addition changes validation
   accuracy least); the model's predicted label is the authors' ablation (`--set fis.pseudo_label=argmax`). For a
   binary classifier the two rules pick the same label: the per-label loss gradients are g(x, 0) = p v and
   g(x, 1) = -(1 - p) v for one vector v (through every layer, since the loss gradient w.r.t. the two logits is
   p (1, -1) or (1 - p) (-1, 1)), so |infl_A(x, 0)| < |infl_A(x, 1)| exactly when p < 1/2. The ablation therefore
   has no separate row on these binary tasks (tests/test_fairness.py checks the identity);
3. score = infl_F at that label, set to 0 where infl_A > 0 (the candidate would harm validation accuracy);
4. take the k lowest scores but keep only negative ones: the budget is a maximum, a round may label fewer.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.fairness import model as lr

from ._influence import fairness_surrogate_grad, first_order_influence, val_loss_grad

Target = Literal["task", "dp", "eop", "eod"]


class Config(StrictConfig):
    target: Target = Field("task", description="fairness surrogate to reduce: the task's notion ('task'), or "
                                               "dp / eop / eod")
    pseudo_label: Literal["min_abs_influence", "argmax"] = Field(
        "min_abs_influence", description="candidate label: the one with the smallest |accuracy influence| (the "
                                         "authors' default) or the model's prediction (their ablation)")
    remove_harmful: bool = Field(True, description="zero the score of candidates whose accuracy influence is "
                                                   "positive (the authors' remove_pos)")
    mu: float = Field(1.0, gt=0.0, description="weight of the squared fairness surrogate (a scale: changes no "
                                               "ranking)")


def fis_scores(view, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, accuracy influence at the chosen label, chosen label) per pool candidate."""
    target = view.target if cfg.target == "task" else cfg.target
    infl_A = first_order_influence(view.w, view.X_pool, val_loss_grad(view.w, view.X_val, view.y_val))
    grad_F = fairness_surrogate_grad(view.w, view.X_val, view.y_val, view.g_val, target, cfg.mu)
    infl_F = first_order_influence(view.w, view.X_pool, grad_F)
    if cfg.pseudo_label == "argmax":
        label = (lr.predict_proba(view.w, view.X_pool) > 0.5).astype(int)
    else:
        label = np.argmin(np.abs(infl_A), axis=1)
    idx = np.arange(len(label))
    score = infl_F[idx, label].copy()
    acc = infl_A[idx, label]
    if cfg.remove_harmful:
        score[acc > 0] = 0.0
    return score, acc, label


def select_negative(score: np.ndarray, k: int) -> np.ndarray:
    """The k lowest scores, keeping only the strictly negative ones (ties broken by position)."""
    order = np.argsort(score, kind="stable")[:k]
    return order[score[order] < 0]


@register_method("fis", family="fairness.active_sampling", config=Config,
                 paper="Pang et al., NeurIPS 2024 (Fairness Without Harm; authors' strategy 2)")
def fis(view, cfg: Config, ctx):
    """FIS: label the pool examples whose first-order influence most reduces the validation fairness surrogate, among
    those that do not raise the validation loss; only helpful (negative) scores are selected."""
    score, _, _ = fis_scores(view, cfg)
    return select_negative(score, view.k)
