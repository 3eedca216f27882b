"""Contracts of the label-noise families (`label_noise.detection`, `.robust`, `.imbalance`).

Input view (all three): training features with their *observed* labels (possibly corrupted, possibly long-tailed),
the number of classes and the test features. Never in it: the clean training labels, the corruption mask, the test
labels. The one privilege, `y_clean` (named like the view field it fills), reveals the clean training labels and is unranked: only a
kind='oracle'/'reference' method (e.g. `ce_clean`, the noise-free ceiling) may hold it.

Outputs: `DetectionOutput(scores, flags)` for detection (one score and one flag per training example; higher score =
more likely corrupted) and `ClassPredictions(labels)` for robust / imbalanced learning (one class per test example; a
plain integer array is accepted and wrapped). `validate()` raises `ContractError` naming what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.contract import Contract, ContractError, Privilege, register_contract


@dataclass(frozen=True)
class NoisyLabelView:
    """A method's input: `X` (n x d float), observed labels `y` (n ints in [0, n_classes)), `n_classes`, `X_test`.
    `y_clean` is None unless the method declared the unranked `y_clean` privilege."""

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    X_test: np.ndarray
    y_clean: np.ndarray | None = None


@dataclass(frozen=True)
class DetectionOutput:
    """Detection output: `scores` (float, higher = more likely corrupted; ranks for AUROC) and `flags` (bool: the
    examples the method calls corrupted; scored by precision / recall / F1), one of each per training example."""

    scores: np.ndarray
    flags: np.ndarray

    def validate(self, n: int | None = None) -> None:
        s, f = np.asarray(self.scores), np.asarray(self.flags)
        if s.ndim != 1 or f.ndim != 1:
            raise ContractError(f"DetectionOutput: scores and flags must be 1-D, got shapes {s.shape} and {f.shape}")
        if n is not None and (len(s) != n or len(f) != n):
            raise ContractError(f"DetectionOutput: one score and one flag per training example expected ({n}), "
                                f"got {len(s)} scores and {len(f)} flags")
        if f.dtype != np.bool_:
            raise ContractError(f"DetectionOutput: flags must be a bool array, got dtype {f.dtype}")
        if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
            raise ContractError(f"DetectionOutput: scores must be real numbers, got dtype {s.dtype}")
        if len(s) and not np.isfinite(s).all():
            raise ContractError(f"DetectionOutput: scores must be finite ({int((~np.isfinite(s)).sum())} are not)")


@dataclass(frozen=True)
class ClassPredictions:
    """Robust / imbalanced learning output: predicted class of every test example, in order."""

    labels: np.ndarray

    @classmethod
    def coerce(cls, value: object) -> "ClassPredictions":
        return cls(np.asarray(value))

    def validate(self, n: int | None = None, n_classes: int | None = None) -> None:
        y = np.asarray(self.labels)
        if y.ndim != 1:
            raise ContractError(f"predictions must be a 1-D array of class labels, got shape {y.shape}")
        if n is not None and len(y) != n:
            raise ContractError(f"predictions must have one label per test example: expected {n}, got {len(y)}")
        if len(y) and not np.issubdtype(y.dtype, np.integer):
            raise ContractError(f"predictions must be integer class labels, got dtype {y.dtype}")
        if n_classes is not None and len(y) and (y.min() < 0 or y.max() >= n_classes):
            raise ContractError(f"predicted labels must lie in [0, {n_classes}), got [{y.min()}, {y.max()}]")


CLEAN_LABELS = Privilege("y_clean", "the clean training labels (the hidden truth the tasks score against)",
                         ranked=False)

DETECTION = register_contract(Contract(
    family="label_noise.detection",
    input_type=NoisyLabelView,
    output_type=DetectionOutput,
    description="X, noisy y, n_classes, X_test in; DetectionOutput(scores, flags) over the training examples out",
    privileges=(CLEAN_LABELS,),
    null_method="random_detector",
    easy_task="adc-detect-digits-sym40",
    easy_overrides=(("n_max", 250), ("noise_rate", 0.3)),
))
ROBUST = register_contract(Contract(
    family="label_noise.robust",
    input_type=NoisyLabelView,
    output_type=ClassPredictions,
    description="X, noisy y, n_classes, X_test in; one class per test example out (scored on clean test labels)",
    privileges=(CLEAN_LABELS,),
    null_method="majority_class",
    easy_task="adc-robust-digits-sym40",
    easy_overrides=(("n_max", 250), ("noise_rate", 0.3)),
))
IMBALANCE = register_contract(Contract(
    family="label_noise.imbalance",
    input_type=NoisyLabelView,
    output_type=ClassPredictions,
    description="X, long-tailed y, n_classes, X_test in; one class per (balanced) test example out",
    privileges=(CLEAN_LABELS,),
    null_method="majority_class",
    easy_task="adc-imb-digits-r50",
    easy_overrides=(("imbalance_ratio", 10.0),),
))
