"""Reference: fair *training* instead of fair sampling. The rows shows what a group-aware in-processing method reaches
with the same labelling budget: labels are bought at random, and the model is fairlearn's ExponentiatedGradient
(Agarwal et al., ICML 2018) over this task's logistic regression, trained with group labels on the labelled data plus
the validation set, under the task's notion (DemographicParity / TruePositiveRateParity / EqualizedOdds). It needs the
training group labels (`pool_groups`) and its own learner (`own_model`), so it is a reference (dagger), never ranked.
Predictions are derandomised: the weighted mixture of the reduction's logistic models' probabilities, thresholded at
0.5 (so test log-losses, hence risk disparity, stay defined). To keep a cell within seconds the fair model is trained
once, after the last round; the budget curves (accuracy_auc, fairness_auc) before it are the plain logistic
regression's on the same random labels."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.fairness import model as lr
from tasks.fairness.contract import Selection


class Config(StrictConfig):
    eps: float = Field(0.01, gt=0.0, description="allowed constraint violation (fairlearn's default)")
    max_iter: int = Field(50, ge=1, le=10_000, description="ExponentiatedGradient iterations (fairlearn's default; "
                                                           "smoke runs: 2, without the linear-program step)")


def _constraint(target: str):
    from fairlearn.reductions import DemographicParity, EqualizedOdds, TruePositiveRateParity

    return {"dp": DemographicParity, "eop": TruePositiveRateParity, "eod": EqualizedOdds}[target]()


@register_method("fair_training_eg", family="fairness.active_sampling", config=Config, kind="reference",
                 privileges={"pool_groups", "own_model"},
                 paper="Agarwal et al., ICML 2018 (fairlearn ExponentiatedGradient), random labels")
def fair_training_eg(view, cfg: Config, ctx):
    """Random labels + ExponentiatedGradient trained with groups on labelled + validation data (reference)."""
    from fairlearn.reductions import ExponentiatedGradient

    rng = np.random.default_rng([ctx.seed, view.round])
    sel = rng.choice(len(view.X_pool), size=view.k, replace=False)
    g_train = np.concatenate([view.g_lab, view.g_pool[sel]])
    smoke = dict(max_iter=min(cfg.max_iter, 2), run_linprog_step=False) if ctx.smoke else dict(max_iter=cfg.max_iter)

    def fit(X_lab: np.ndarray, y_lab: np.ndarray):
        X = np.vstack([X_lab, view.X_val])
        y = np.concatenate([y_lab, view.y_val])
        g = np.concatenate([g_train, view.g_val])
        eg = ExponentiatedGradient(lr.NewtonLogisticRegression(view.lam), _constraint(view.target), eps=cfg.eps,
                                   **smoke)
        eg.fit(X, y, sensitive_features=g)
        mix = [(float(wt), est) for wt, est in zip(eg.weights_, eg.predictors_) if wt > 0]

        def proba(Xq: np.ndarray) -> np.ndarray:
            return sum(wt * est.predict_proba(Xq)[:, 1] for wt, est in mix) / sum(wt for wt, _ in mix)

        return proba

    return Selection(sel, fit=fit if view.round == view.rounds - 1 else None)
