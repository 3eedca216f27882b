"""Shared pieces of the label-noise methods: out-of-fold predicted probabilities, a small MLP and its trainer.
The output types (`DetectionOutput`, `ClassPredictions`) live in the family contract, tasks/label_noise/contract.py."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(min(2, torch.get_num_threads()))


from tasks.label_noise.contract import ClassPredictions, DetectionOutput  # noqa: F401  (re-exported for methods)

SMOKE_EPOCHS = 4  # smoke runs check plumbing, not accuracy: every learner trains at most this many epochs


def epochs_for(epochs: int, ctx) -> int:
    """The configured epoch budget, capped at SMOKE_EPOCHS in smoke runs."""
    return min(epochs, SMOKE_EPOCHS) if getattr(ctx, "smoke", False) else epochs


def cross_val_probs(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int, folds: int = 5, C: float = 1.0) -> np.ndarray:
    """Out-of-fold predicted probabilities of a multinomial logistic regression (what Confident Learning needs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y, minlength=n_classes)
    n_splits = max(2, min(folds, int(counts[counts > 0].min())))
    probs = np.zeros((len(y), n_classes))
    for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=seed % (2**32)).split(X, y):
        clf = LogisticRegression(C=C, max_iter=300).fit(X[tr], y[tr])
        probs[np.ix_(te, clf.classes_)] = clf.predict_proba(X[te])
    return probs


def mlp(d_in: int, n_classes: int, hidden: int = 128) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_classes))


# loss(logits, targets, sample_indices, epoch) -> scalar
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


def ce_loss(logits, y, idx, epoch):
    return F.cross_entropy(logits, y)


def train(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int, loss_fn: LossFn = ce_loss, epochs: int = 60,
          lr: float = 2e-3, batch_size: int = 64, hidden: int = 128, weight_decay: float = 0.0,
          on_epoch: Callable[[torch.nn.Module, int], None] | None = None,
          on_start: Callable[[torch.nn.Module, int], None] | None = None,
          model: torch.nn.Module | None = None,
          lr_at: Callable[[int], float] | None = None) -> torch.nn.Module:
    """Adam on mini-batches of (X, y); `loss_fn(logits, y, idx, epoch)`; `model` overrides the default MLP (built
    after seeding); `lr_at(epoch)` sets the learning rate per epoch; `on_epoch(model, epoch)` runs after each epoch."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = model() if callable(model) and not isinstance(model, torch.nn.Module) else model
    model = model if model is not None else mlp(X.shape[1], n_classes, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if on_start is not None:
        on_start(model, 0)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    n = len(yt)
    for ep in range(epochs):
        if lr_at is not None:
            for g in opt.param_groups:
                g["lr"] = lr_at(ep)
        model.train()
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            idx = perm[s: s + batch_size]
            loss = loss_fn(model(Xt[idx]), yt[idx], idx, ep)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if on_epoch is not None:
            model.eval()
            on_epoch(model, ep)
    model.eval()
    return model


@torch.no_grad()
def predict(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    return model(torch.as_tensor(X, dtype=torch.float32)).argmax(dim=1).numpy()


@torch.no_grad()
def predict_proba(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    return torch.softmax(model(torch.as_tensor(X, dtype=torch.float32)), dim=1).numpy()


def seed32(ctx) -> int:
    return int(ctx.seed % (2**31))
