"""ISAL, influence selection for active learning (Liu et al., ICCV 2021), as the FIS authors run it as a baseline
(strategy 8 of UCSC-REAL/FairnessWithoutHarm): the candidate's gradient at the model's predicted label, its influence
on the *validation loss* through the inverse Hessian, the k most negative (helpful) scores, negative ones only. It
looks at accuracy only, never at groups. The authors approximate H^{-1} grad L_val by a LiSSA-style recursion over
labelled-batch gradients; for this logistic regression the Hessian (with the L2 term) is solved exactly."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.fairness import model as lr

from .fis import select_negative


def isal_scores(view) -> np.ndarray:
    H = lr.hessian(view.w, view.X_lab, view.lam)
    v = np.linalg.solve(H, lr.mean_loss_grad(view.w, view.X_val, view.y_val))
    pseudo = (lr.predict_proba(view.w, view.X_pool) > 0.5).astype(float)
    return -lr.per_example_grads(view.w, view.X_pool, pseudo) @ v


@register_method("isal", family="fairness.active_sampling", kind="baseline",
                 paper="Liu et al., ICCV 2021 (ISAL), as adapted in Pang et al. 2024")
def isal(view, cfg, ctx):
    """Influence on validation loss (inverse Hessian, predicted labels); the most helpful candidates, negative only."""
    return select_negative(isal_scores(view), view.k)
