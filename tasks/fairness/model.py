"""L2-regularised logistic regression fitted by Newton's method (exact Hessian, deterministic), plus the gradients
the influence estimates need. Loss: mean_i log-loss(x_i, y_i) + (lam / 2) ||w||^2 (bias included in w, last column)."""
from __future__ import annotations

import numpy as np


def add_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((len(X), 1))])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit(X: np.ndarray, y: np.ndarray, lam: float = 1e-2, iters: int = 30, w0: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None) -> np.ndarray:
    Xb = add_bias(X)
    n, d = Xb.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    w = np.zeros(d) if w0 is None else w0.copy()
    for _ in range(iters):
        p = sigmoid(Xb @ w)
        g = Xb.T @ (sw * (p - y)) / sw.sum() + lam * w
        H = (Xb * (sw * p * (1 - p))[:, None]).T @ Xb / sw.sum() + lam * np.eye(d)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def predict_proba(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    return sigmoid(add_bias(X) @ w)


def losses(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(predict_proba(w, X), 1e-12, 1 - 1e-12)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def hessian(w: np.ndarray, X: np.ndarray, lam: float) -> np.ndarray:
    Xb = add_bias(X)
    p = sigmoid(Xb @ w)
    return (Xb * (p * (1 - p))[:, None]).T @ Xb / len(X) + lam * np.eye(Xb.shape[1])


def mean_loss_grad(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    Xb = add_bias(X)
    return Xb.T @ (sigmoid(Xb @ w) - y) / max(len(X), 1)


def per_example_grads(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    Xb = add_bias(X)
    return Xb * (sigmoid(Xb @ w) - y)[:, None]


def label_grads(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Per-example log-loss gradients for each possible label: float[n, 2, d] (label 0, label 1)."""
    Xb = add_bias(X)
    p = sigmoid(Xb @ w)
    return np.stack([Xb * p[:, None], Xb * (p - 1.0)[:, None]], axis=1)


class NewtonLogisticRegression:
    """scikit-learn-style wrapper of `fit` (sample weights supported) for meta-estimators such as fairlearn's
    reductions: fit(X, y, sample_weight) / predict(X) / predict_proba(X)."""

    def __init__(self, lam: float = 1e-2, iters: int = 30):
        self.lam, self.iters = lam, iters

    def get_params(self, deep: bool = True) -> dict:
        return {"lam": self.lam, "iters": self.iters}

    def set_params(self, **params) -> "NewtonLogisticRegression":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X, y, sample_weight=None) -> "NewtonLogisticRegression":
        y = np.asarray(y, dtype=float)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if sw is not None and sw.sum() <= 0:
            sw = None
        self.w_ = fit(np.asarray(X, dtype=float), y, self.lam, self.iters, sample_weight=sw)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        p = predict_proba(self.w_, np.asarray(X, dtype=float))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X) -> np.ndarray:
        return (predict_proba(self.w_, np.asarray(X, dtype=float)) > 0.5).astype(int)
