"""Post-hoc logit adjustment (Menon et al., ICLR 2021; google-research/logit_adjustment): train plain cross-entropy,
then predict argmax_k f_k(x) - tau * log pi_k, with pi the training label distribution.

tau is tuned as the paper's post-hoc variant does, on data held out from *training*: a stratified `holdout` share of
the training set (every class keeps at least one example for fitting) trains a CE model, tau is the grid value with the
best held-out balanced accuracy (the metric the balanced test set measures), and the CE model retrained on the full
training set is adjusted with that tau. The chosen tau is recorded as the artifact `tau`.

This is what makes the row differ from `balanced_softmax`, the *loss-time* correction (CE on f(x) + log n_k), which is
the logit-adjusted loss at tau = 1 (the two losses are the same function there; tested)."""
from __future__ import annotations

import numpy as np
import torch
from pydantic import Field

from bench.api import register_method

from ._common import epochs_for, seed32, train
from ._imbalance import class_counts
from ._robust import TrainConfig


class Config(TrainConfig):
    holdout: float = Field(0.2, gt=0.0, lt=1.0, description="share of each class held out to tune tau")
    tau_grid: list[float] = Field([0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0], min_length=1,
                                  description="tau values tried (post-hoc adjustment strength)")


def adjusted_predictions(logits: np.ndarray, log_prior: np.ndarray, tau: float) -> np.ndarray:
    return np.argmax(logits - tau * log_prior[None, :], axis=1)


def balanced_acc(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean([np.mean(pred[y == k] == k) for k in np.unique(y)]))


def holdout_split(y: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    fit_idx, ho_idx = [], []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_ho = min(int(round(share * len(idx))), len(idx) - 1)
        ho_idx.append(idx[:n_ho])
        fit_idx.append(idx[n_ho:])
    return np.sort(np.concatenate(fit_idx)), np.sort(np.concatenate(ho_idx))


@torch.no_grad()
def _logits(model, X) -> np.ndarray:
    return model(torch.as_tensor(X, dtype=torch.float32)).numpy()


@register_method("logit_adjustment", family="label_noise.imbalance", config=Config, paper="Menon et al., ICLR 2021")
def logit_adjustment(data, cfg: Config, ctx):
    """Post-hoc logit adjustment of a CE model, tau tuned on a held-out split of the training data."""
    s, ep = seed32(ctx), epochs_for(cfg.epochs, ctx)
    log_prior = torch.log(class_counts(data.y, data.n_classes) / len(data.y)).numpy()
    fit_idx, ho_idx = holdout_split(data.y, cfg.holdout, ctx.rng)
    tau = 1.0
    if len(ho_idx):
        m = train(data.X[fit_idx], data.y[fit_idx], data.n_classes, s + 1, epochs=ep, lr=cfg.lr,
                  batch_size=cfg.batch_size, hidden=cfg.hidden)
        z = _logits(m, data.X[ho_idx])
        lp_fit = np.log(np.maximum(np.bincount(data.y[fit_idx], minlength=data.n_classes), 1) / len(fit_idx))
        scores = [balanced_acc(data.y[ho_idx], adjusted_predictions(z, lp_fit, t)) for t in cfg.tau_grid]
        tau = float(cfg.tau_grid[int(np.argmax(scores))])
        ctx.add_artifact("holdout_balanced_accuracy", dict(zip(map(str, cfg.tau_grid), scores)))
    ctx.add_artifact("tau", tau)
    full = train(data.X, data.y, data.n_classes, s, epochs=ep, lr=cfg.lr, batch_size=cfg.batch_size, hidden=cfg.hidden)
    return adjusted_predictions(_logits(full, data.X_test), log_prior, tau).astype(np.int64)
