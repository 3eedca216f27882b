"""Digits classification: 8x8 handwritten digits bundled with scikit-learn (1,797 images, 10 classes), offline."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from pydantic import Field
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from bench.api import Context, DatasetRef, Metric, PROPORTION, Task, register_family, register_task
from bench.config import StrictConfig

from .contract import CONTRACT, ClassificationView, Predictions

FAMILY = register_family(
    "toy.classification",
    "Supervised classification on a small bundled dataset; the harness's end-to-end check.",
    output="predicted labels for X_test (int array of shape (n_test,))",
)


@dataclass
class ClassificationData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


class DigitsConfig(StrictConfig):
    test_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="share of the data held out as the test split "
                                                                     "(stratified by class)")
    n_train_max: int | None = Field(None, ge=1, description="keep only the first N training examples (smoke runs); "
                                                            "null keeps all")


class DigitsClassification(Task):
    family = "toy.classification"
    version = "1"
    description = "10-class digit classification; stratified train/test split drawn from the data seed."
    dataset = DatasetRef("sklearn.datasets.load_digits", revision=None,
                         offline_default="bundled with scikit-learn (UCI ML hand-written digits test set)",
                         license="CC BY 4.0 (UCI)")
    metrics = (Metric("accuracy", "max", range=PROPORTION), Metric("balanced_accuracy", "max", range=PROPORTION))
    primary_metric = "accuracy"
    config_cls = DigitsConfig
    default_seeds = 10  # knn vs logistic regression differ by ~0.02 with sd(diff) ~0.01: 3 seeds cannot separate them

    def load(self, cfg: DigitsConfig, ctx: Context) -> ClassificationData:
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=cfg.test_fraction, stratify=y,
                                              random_state=ctx.data_seed % (2**32))
        if cfg.n_train_max is not None:
            Xtr, ytr = Xtr[: cfg.n_train_max], ytr[: cfg.n_train_max]
        return ClassificationData(Xtr, ytr, Xte, yte, 10)

    def view(self, data: ClassificationData, privileges: frozenset[str], ctx: Context) -> ClassificationView:
        return ClassificationView(data.X_train, data.y_train, data.X_test, data.n_classes)  # no y_test

    def check_output(self, output, data: ClassificationData, ctx: Context) -> Predictions:
        return CONTRACT.check_output(output, n=len(data.y_test), n_classes=data.n_classes)

    def evaluate(self, data: ClassificationData, output: Predictions, cfg: DigitsConfig, ctx: Context) -> dict[str, float]:
        pred = output.labels
        return {"accuracy": accuracy_score(data.y_test, pred),
                "balanced_accuracy": balanced_accuracy_score(data.y_test, pred)}

    def smoke_params(self) -> dict:
        return {"n_train_max": 200}


register_task(DigitsClassification("toy-digits"))
