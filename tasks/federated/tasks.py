"""Federated incentive tasks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, Task, register_task
from bench.config import StrictConfig

from .clients import HONEST
from .flower_app import run_fedavg


class FLConfig(StrictConfig):
    n_clients: int = 10
    n_low: int = 3
    alpha: float = 0.5
    rounds: int = 12
    local_epochs: int = 1
    lr: float = 0.5
    target_accuracy: float = 0.85
    effort_cost: float = 0.2  # cost of honest effort, as a fraction of an equal payment share
    parallel: bool = True  # run ClientApps two at a time (False: one at a time); results are identical


@dataclass
class FLData:
    seed: int

    def fingerprint(self) -> dict:
        return {"seed": self.seed}


class FederatedIncentives(Task):
    family = "federated.incentives"
    version = "1"
    description = ("10 clients on Dirichlet(0.5) splits of digits, 3 low-effort (noisy labels, free-rider, tiny data); "
                   "FedAvg on Flower's simulation engine; the mechanism scores (pays) and weights clients each round.")
    dataset = DatasetRef("sklearn.datasets.load_digits (client partitions by Dirichlet label split)",
                         offline_default="digits; real runs: any partitioned dataset via flwr-datasets")
    metrics = (Metric("final_accuracy", "max", range=PROPORTION), Metric("rounds_to_target", "min", range=NONNEGATIVE),
               Metric("score_quality_corr", "max", range=(-1.0, 1.0)), Metric("truthful_best_response", "max", range=PROPORTION))
    primary_metric = "final_accuracy"
    config_cls = FLConfig

    def load(self, cfg: FLConfig, ctx: Context) -> FLData:
        return FLData(int(ctx.data_seed % (2**31)))

    def execute(self, method, data: FLData, method_cfg, cfg: FLConfig, ctx: Context):
        mechanism = method.fn(None, method_cfg, ctx)
        return run_fedavg(mechanism, cfg, data.seed, cfg.parallel)

    def evaluate(self, data, out, cfg: FLConfig, ctx: Context):
        curve = out["curve"]
        hit = [i + 1 for i, a in enumerate(curve) if a >= cfg.target_accuracy]
        quality = np.array([k == HONEST for k in out["kinds"]], dtype=float)
        scores = np.asarray(out["scores"])
        corr = 0.0 if np.ptp(scores) == 0 else float(spearmanr(scores, quality).statistic)
        ctx.add_artifact("curve", curve)
        ctx.add_artifact("scores", out["scores"])
        ctx.add_artifact("client_kinds", out["kinds"])
        return {"final_accuracy": curve[-1], "rounds_to_target": float(hit[0] if hit else cfg.rounds + 1),
                "score_quality_corr": corr,
                "truthful_best_response": float(np.mean(out["best_response"])) if out["best_response"] else 0.0}

    def smoke_params(self):
        return {"rounds": 3, "n_clients": 4, "n_low": 1}


register_task(FederatedIncentives("fl-digits-dir05"))
