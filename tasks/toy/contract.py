"""Contract of `toy.classification`: a method sees the training split and the test *features*, never the test
labels, and returns one integer class label per test example."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.contract import Contract, ContractError, register_contract


@dataclass(frozen=True)
class ClassificationView:
    """A method's input: labelled training split, unlabelled test features."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    n_classes: int


@dataclass(frozen=True)
class Predictions:
    """A method's output: predicted class labels for `X_test`, in order."""

    labels: np.ndarray

    @classmethod
    def coerce(cls, value: object) -> "Predictions":
        return cls(np.asarray(value))

    def validate(self, n: int | None = None, n_classes: int | None = None) -> None:
        y = self.labels
        if y.ndim != 1:
            raise ContractError(f"predictions must be a 1-D array of class labels, got shape {y.shape}")
        if n is not None and len(y) != n:
            raise ContractError(f"predictions must have one label per test example: expected {n}, got {len(y)}")
        if len(y) and not np.issubdtype(y.dtype, np.integer):
            raise ContractError(f"predictions must be integer class labels, got dtype {y.dtype}")
        if n_classes is not None and len(y) and (y.min() < 0 or y.max() >= n_classes):
            raise ContractError(f"predicted labels must lie in [0, {n_classes}), got [{y.min()}, {y.max()}]")


CONTRACT = register_contract(Contract(
    family="toy.classification",
    input_type=ClassificationView,
    output_type=Predictions,
    description="X_train, y_train, X_test, n_classes in; one integer label per test example out",
    null_method="majority",
    easy_task="toy-digits",
))
