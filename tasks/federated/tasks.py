"""Federated incentive tasks: a Stackelberg game between the server (mechanism) and effort-choosing clients, then
FedAvg on Flower with the clients' chosen effort (tasks/federated/{clients,game,flower_app}.py)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.stats import spearmanr

from bench.api import NONNEGATIVE, PROPORTION, UNBOUNDED, Context, DatasetRef, Metric, Task, register_task
from bench.config import StrictConfig

from .clients import ACTIONS, FULL_ACTION, N_CLASSES, N_FEATURES, World, WorldSpec, build_world, predict_proba
from .contract import CONTRACT, ClientTruth, FLView, Mechanism, RoundView
from .flower_app import RunResult, run_fedavg
from .game import FollowerGame, make_rehearsal


class FLConfig(StrictConfig):
    n_clients: int = Field(10, ge=3)
    alpha: float = Field(0.5, gt=0.0, description="Dirichlet concentration of the clients' label split")
    low_share: float = Field(0.3, ge=0.0, le=1.0, description="share of low-quality clients (noisier, costlier)")
    rounds: int = Field(12, ge=2)
    local_epochs: int = Field(2, ge=1)
    lr: float = Field(0.5, gt=0.0)
    effort_cost: float = Field(0.002, ge=0.0, description="a regular client's cost of (amount^2 + cleaning^2) "
                                                          "per round, in the payments' unit")
    payment_price: float = Field(1.0, ge=0.0, description="the server's cost of one payment unit, in accuracy")
    checkpoints: int = Field(3, ge=1, description="rehearsal checkpoints (first-best rounds 0, R/c, 2R/c, ...)")
    max_sweeps: int = Field(6, ge=1, description="best-response sweeps of the follower stage")
    target_fraction: float = Field(0.95, gt=0.0, le=1.0, description="target = this x first-best final accuracy")
    engine: Literal["local", "flower", "flower-ray"] = "flower"


@dataclass
class FLData:
    world: World

    def fingerprint(self) -> dict:
        w = self.world
        return {"seed": w.spec.seed, "types": list(w.types), "pool_labels": [p[1] for p in w.pools],
                "pool_features": [p[0] for p in w.pools], "u": list(w.u), "wrong": list(w.wrong),
                "test": (w.X_test, w.y_test), "val": (w.X_val, w.y_val), "probe": w.X_probe}


class _FirstBest(Mechanism):
    """Every client at full effort, FedAvg by size: the first-best population's curve (target, checkpoints)."""

    def score(self, view):
        return np.zeros(len(view.pids))


@lru_cache(maxsize=8)
def first_best(spec: WorldSpec, rounds: int, epochs: int, lr: float, n_checkpoints: int) -> RunResult:
    """The first-best population (every client at full effort, FedAvg by size): its test curve sets the target, and
    its global models at rounds 0, R/c, 2R/c, ... are the rehearsal checkpoints of the follower stage."""
    world = build_world(spec)
    full = tuple([FULL_ACTION] * spec.n_clients)
    at = tuple(sorted({int(round(c * rounds / n_checkpoints)) for c in range(n_checkpoints)}))
    return run_fedavg("local", spec, full, _FirstBest(), 0.0, rounds, epochs, lr, 0, _plain_view(world, full, False),
                      checkpoint_rounds=at)


@lru_cache(maxsize=8)
def _rehearsal(spec: WorldSpec, rounds: int, epochs: int, lr: float, n_checkpoints: int):
    fb = first_best(spec, rounds, epochs, lr, n_checkpoints)
    return make_rehearsal(build_world(spec), fb.checkpoints, epochs, lr)


def _plain_view(world: World, profile: tuple[int, ...], with_truth: bool):
    """make_view(r, pids, updates, hists, W) -> RoundView; truth only when granted."""

    def make(r, pids, updates, hists, W, proba=None, global_proba=None):
        proba = predict_proba(updates, world.X_probe) if proba is None else proba
        global_proba = predict_proba(W, world.X_probe) if global_proba is None else global_proba
        truth = None
        if with_truth:
            idx = (np.asarray(pids), np.asarray([profile[p] for p in pids]))
            truth = ClientTruth(world.quality_table[idx], world.n_used_table[idx])
        return RoundView(r, tuple(pids), updates, hists, W, world.X_probe, proba, global_proba, truth)

    return make


def label_distribution_w1(counts: np.ndarray, reference: np.ndarray) -> float:
    """W1 distance between two class distributions under the 0/1 ground metric (classes are nominal), which equals
    their total-variation distance (checked against scipy.stats.wasserstein_distance_nd in the tests)."""
    p = counts / max(counts.sum(), 1e-12)
    q = reference / max(reference.sum(), 1e-12)
    return float(0.5 * np.abs(p - q).sum())


def mean_spearman(scores: list[list[float]], quality: np.ndarray) -> tuple[float | None, list[float | None]]:
    """Per round: Spearman between the participants' scores and their true quality (0 when the scores are constant:
    they rank nothing; None when the quality is constant or fewer than 3 took part). Returns (mean, per round)."""
    per = []
    for row in scores:
        s = np.asarray(row, dtype=float)
        ok = ~np.isnan(s)
        if ok.sum() < 3 or np.ptp(quality[ok]) == 0:
            per.append(None)
        elif np.ptp(s[ok]) == 0:
            per.append(0.0)
        else:
            per.append(float(spearmanr(s[ok], quality[ok]).statistic))
    vals = [v for v in per if v is not None]
    return (float(np.mean(vals)) if vals else None), per


class FederatedIncentives(Task):
    family = "federated.incentives"
    version = "2"
    description = ("Stackelberg game on digits, 10 clients, Dirichlet(alpha) label split, a share of low-quality "
                   "clients: the server announces a mechanism and a reward level, clients best-respond with effort "
                   "(data amount, label cleaning) at a convex cost, then FedAvg on Flower with that effort.")
    dataset = DatasetRef("sklearn.datasets.load_digits (client pools by Dirichlet label split, raw label noise)",
                         offline_default="digits; real runs: any partitioned dataset via flwr-datasets")
    metrics = (
        Metric("final_accuracy", "max", "test accuracy of the global model after the last round", PROPORTION),
        Metric("accuracy_auc", "max", "mean test accuracy over rounds (area under the accuracy-vs-round curve)",
               PROPORTION),
        Metric("target_reached", "max", "1 if the test accuracy reached the target (target_fraction x the first-best "
                                        "final accuracy of the same seed) within the rounds", PROPORTION),
        Metric("rounds_to_target", "min", "first round at the target; missing (not averaged) when never reached",
               NONNEGATIVE),
        Metric("score_quality_spearman", "max", "mean over rounds of the Spearman correlation between the scores and "
                                                "the clients' true label quality", (-1.0, 1.0)),
        Metric("mean_cleaning", "max", "clients' mean label-cleaning effort at the equilibrium", PROPORTION),
        Metric("mean_amount", "max", "clients' mean share of their data used at the equilibrium", PROPORTION),
        Metric("payment_per_round", "min", "total payments per round (reward x max(score, 0), summed)", NONNEGATIVE),
        Metric("server_utility", "max", "final test accuracy - payment_price x payment_per_round", UNBOUNDED),
        Metric("weighted_wasserstein", "min", "sum_i w_i W1(client i's training labels, reference), w the mean "
                                              "aggregation weights: the heterogeneity term of the convergence bound",
               NONNEGATIVE),
        Metric("equilibrium_eps", "min", "largest gain a client could still get by deviating alone (0 = exact "
                                         "equilibrium of the rehearsal game)", NONNEGATIVE),
    )
    primary_metric = "final_accuracy"
    config_cls = FLConfig
    default_seeds = 10
    full_suite_seeds = 3
    table_artifacts = ("reward",)

    def load(self, cfg: FLConfig, ctx: Context) -> FLData:
        return FLData(build_world(self.spec(cfg, ctx.data_seed)))

    @staticmethod
    def spec(cfg: FLConfig, data_seed: int) -> WorldSpec:
        return WorldSpec(int(data_seed % (2**31)), cfg.n_clients, cfg.alpha, cfg.low_share, cfg.effort_cost)

    def view(self, data: FLData, privileges: frozenset[str], ctx: Context) -> FLView:
        return FLView(data.world.spec.n_clients, N_CLASSES, N_FEATURES, data.world.X_probe, frozenset(privileges))

    def check_output(self, output, data: FLData, ctx: Context) -> Mechanism:
        mech = CONTRACT.check_output(output)
        mech.validate(n_clients=data.world.spec.n_clients)
        return mech

    def execute(self, method, data: FLData, method_cfg, cfg: FLConfig, ctx: Context):
        world = data.world
        spec = world.spec
        mech = self.check_output(method.fn(self.view(data, method.privileges, ctx), method_cfg, ctx), data, ctx)
        with_truth = "truth" in method.privileges
        view_for = lambda profile: _plain_view(world, profile, with_truth)  # noqa: E731
        reh = _rehearsal(spec, cfg.rounds, cfg.local_epochs, cfg.lr, cfg.checkpoints)
        game = FollowerGame(world, mech, reh, view_for)
        seed = int(ctx.seed % (2**31))
        leader = []
        best = None
        prev = None
        for a in sorted(mech.reward_grid):
            eq = game.equilibrium(float(a), cfg.max_sweeps, start=prev)
            prev = eq.profile
            run = run_fedavg("local", spec, eq.profile, mech, float(a), cfg.rounds, cfg.local_epochs, cfg.lr, seed,
                             view_for(eq.profile))
            pay = run.total_payment_per_round()
            val = float(np.mean(run.val_curve[-3:]))
            u = val - cfg.payment_price * pay
            leader.append({"reward": float(a), "val_accuracy": val, "payment_per_round": pay,
                           "utility": u, "mean_amount": _mean_part(eq.profile, 0),
                           "mean_cleaning": _mean_part(eq.profile, 1), "eps": eq.eps, "sweeps": eq.sweeps})
            if best is None or u > best[0] + 1e-12:
                best = (u, eq, run)
        _, eq, run = best
        if cfg.engine != "local":
            run = run_fedavg(cfg.engine, spec, eq.profile, mech, eq.reward, cfg.rounds, cfg.local_epochs, cfg.lr,
                             seed, view_for(eq.profile))
        fb = first_best(spec, cfg.rounds, cfg.local_epochs, cfg.lr, cfg.checkpoints)
        return {"equilibrium": eq, "run": run, "leader": leader, "first_best": fb.test_curve,
                "score_calls": game.score_calls}

    def evaluate(self, data: FLData, out, cfg: FLConfig, ctx: Context):
        world = data.world
        eq, run = out["equilibrium"], out["run"]
        prof = eq.profile
        N = world.spec.n_clients
        curve = run.test_curve
        target = cfg.target_fraction * out["first_best"][-1]
        hit = [r + 1 for r, acc in enumerate(curve) if acc >= target]
        quality = np.array([world.label_quality(i, prof[i]) for i in range(N)])
        rho, rho_per_round = mean_spearman(run.scores, quality)
        ref = np.bincount(world.y_test, minlength=N_CLASSES).astype(float)
        w1 = np.array([label_distribution_w1(np.bincount(world.client_data(i, prof[i])[1], minlength=N_CLASSES)
                                             .astype(float), ref) for i in range(N)])
        w_mean = np.mean(np.asarray(run.weights), axis=0)
        pay = run.total_payment_per_round()
        paid = np.asarray(run.payments, dtype=float)
        took_part = (~np.isnan(paid)).sum(axis=0)
        pay_client = np.where(took_part > 0, np.nansum(paid, axis=0) / np.maximum(took_part, 1), np.nan)
        for k, v in {"curve": curve, "val_curve": run.val_curve, "first_best_curve": out["first_best"],
                     "target": target, "reward": eq.reward, "scores": _json_rows(run.scores),
                     "weights": run.weights, "payments": _json_rows(run.payments),
                     "spearman_per_round": rho_per_round, "leader": out["leader"],
                     "clients": [{"type": world.types[i], "n_pool": int(world.n_pool[i]),
                                  "amount": ACTIONS[prof[i]][0], "cleaning": ACTIONS[prof[i]][1],
                                  "n_used": world.n_used(i, prof[i]), "label_quality": float(quality[i]),
                                  "w1_label": float(w1[i]), "cost": world.cost(i, prof[i]),
                                  "payment": None if np.isnan(pay_client[i]) else float(pay_client[i]),
                                  "weight": float(w_mean[i])} for i in range(N)],
                     "equilibrium_sweeps": eq.sweeps, "equilibrium_converged": eq.converged,
                     "score_calls": out["score_calls"]}.items():
            ctx.add_artifact(k, v)
        return {"final_accuracy": curve[-1], "accuracy_auc": float(np.mean(curve)),
                "target_reached": float(bool(hit)), "rounds_to_target": float(hit[0]) if hit else None,
                "score_quality_spearman": rho, "mean_cleaning": _mean_part(prof, 1),
                "mean_amount": _mean_part(prof, 0), "payment_per_round": pay,
                "server_utility": curve[-1] - cfg.payment_price * pay,
                "weighted_wasserstein": float(np.sum(w_mean * w1)), "equilibrium_eps": eq.eps}

    def smoke_params(self):
        return {"n_clients": 5, "rounds": 4, "checkpoints": 1, "max_sweeps": 2}


def _json_rows(rows: list[list[float]]) -> list[list[float | None]]:
    """NaN (client did not take part) -> None, so the record stays strict JSON."""
    return [[None if v != v else v for v in row] for row in rows]


def _mean_part(profile: tuple[int, ...], part: int) -> float:
    return float(np.mean([ACTIONS[k][part] for k in profile]))


class FederatedIncentivesRegime(FederatedIncentives):
    """The same game in another heterogeneity regime (full suite only: smoke runs the base task)."""

    dataset = FederatedIncentives.dataset
    suites = ("full",)


register_task(FederatedIncentives("fl-digits-dir05", alpha=0.5, low_share=0.3))
register_task(FederatedIncentivesRegime("fl-digits-dir05-low60", alpha=0.5, low_share=0.6))
register_task(FederatedIncentivesRegime("fl-digits-dir100", alpha=100.0, low_share=0.3))
