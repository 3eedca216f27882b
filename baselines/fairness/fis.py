"""FIS: fairness influence score for active sampling (Pang, Wang, Zhu et al., 2024, "Fairness Without Harm").

With the current logistic regression w fitted on the labelled set L (Hessian H of the mean regularised training loss),
adding a candidate z with weight 1/|L| moves the parameters by about -H^{-1} grad l(z) / |L| (Koh & Liang 2017).
Its influence on a validation function V is therefore  infl_V(z) = -grad V^T H^{-1} grad l(z) / |L|.
- fairness: V_F = |L_val(group 1) - L_val(group 0)| (validation risk disparity; only validation groups are used),
- accuracy: V_A = L_val (validation log-loss).
The candidate's label is unknown before labelling, so its gradient uses the model's pseudo-label (argmax).
Selection: among candidates that do not harm accuracy (infl_A <= 0) take the k with the most negative infl_F; if fewer
than k qualify, fill with the lowest infl_F + alpha * infl_A."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from bench.config import StrictConfig
from tasks.fairness import model as lr


class Config(StrictConfig):
    alpha: float = 1.0


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


@register_method("fis", family="fairness.active_sampling", config=Config, paper="Pang et al., 2024")
def fis(view, cfg: Config, ctx):
    """Influence-guided selection: reduce validation risk disparity without raising validation loss."""
    inf_F, inf_A = influences(view)
    ok = np.flatnonzero(inf_A <= 0)
    first = ok[np.argsort(inf_F[ok], kind="stable")][: view.k]
    if len(first) == view.k:
        return first
    rest = np.setdiff1d(np.arange(len(inf_F)), first)
    fill = rest[np.argsort((inf_F + cfg.alpha * inf_A)[rest], kind="stable")][: view.k - len(first)]
    return np.concatenate([first, fill])
