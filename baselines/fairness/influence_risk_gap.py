"""The FIS variant this benchmark shipped before version 2 of the fairness tasks, kept under a descriptive name: it
differs from the authors' FIS in all four ways issue #18 lists, on purpose, so the two can be compared.

With the current logistic regression w fitted on the labelled set L (Hessian H of the mean regularised training loss),
adding a candidate z with weight 1/|L| moves the parameters by about -H^{-1} grad l(z) / |L| (Koh & Liang 2017), so
its influence on a validation function V is  infl_V(z) = -grad V^T H^{-1} grad l(z) / |L|, with
- fairness V_F = |L_val(group 1) - L_val(group 0)| (validation risk disparity, a log-loss gap),
- accuracy V_A = L_val (validation log-loss),
and the candidate's gradient taken at the model's predicted label (argmax). Selection: among candidates with
infl_A <= 0 take the k with the most negative infl_F; if fewer than k qualify, fill the budget with the lowest
infl_F + alpha * infl_A (always spends k)."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.fairness import model as lr


class Config(StrictConfig):
    alpha: float = Field(1.0, ge=0.0, description="weight of the accuracy influence when filling the budget")


def influences(view) -> tuple[np.ndarray, np.ndarray]:
    w, lam = view.w, view.lam
    H = lr.hessian(w, view.X_lab, lam)
    l_val = lr.losses(w, view.X_val, view.y_val)
    g1, g0 = view.g_val == 1, view.g_val == 0
    sign = np.sign(l_val[g1].mean() - l_val[g0].mean()) or 1.0
    grad_F = sign * (lr.mean_loss_grad(w, view.X_val[g1], view.y_val[g1])
                     - lr.mean_loss_grad(w, view.X_val[g0], view.y_val[g0]))
    grad_A = lr.mean_loss_grad(w, view.X_val, view.y_val)
    vF, vA = np.linalg.solve(H, grad_F), np.linalg.solve(H, grad_A)
    pseudo = (lr.predict_proba(w, view.X_pool) > 0.5).astype(float)
    G = lr.per_example_grads(w, view.X_pool, pseudo)
    n = len(view.y_lab)
    return -G @ vF / n, -G @ vA / n


@register_method("influence_risk_gap", family="fairness.active_sampling", config=Config, kind="baseline",
                 paper="this benchmark's pre-v2 FIS reading (inverse-Hessian influence on the risk gap)")
def influence_risk_gap(view, cfg: Config, ctx):
    """Inverse-Hessian influence on the validation log-loss gap, argmax pseudo-labels, always fills the budget."""
    inf_F, inf_A = influences(view)
    ok = np.flatnonzero(inf_A <= 0)
    first = ok[np.argsort(inf_F[ok], kind="stable")][: view.k]
    if len(first) == view.k:
        return first
    rest = np.setdiff1d(np.arange(len(inf_F)), first)
    fill = rest[np.argsort((inf_F + cfg.alpha * inf_A)[rest], kind="stable")][: view.k - len(first)]
    return np.concatenate([first, fill])
