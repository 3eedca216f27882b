"""Forward loss correction (Patrini et al., CVPR 2017) with T estimated from anchor points: a CE model is trained on
the noisy labels; for each class i the example with the `anchor_percentile`-th percentile of p(i|x) serves as an
anchor, and row i of T is that example's predicted distribution p(.|x). The final model is trained with
NLL(log(softmax(f(x)) @ T), y_noisy) and predicts argmax f(x)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pydantic import Field

from bench.api import register_method

from ._common import epochs_for, predict, predict_proba, seed32, train
from ._robust import TrainConfig, fit


class Config(TrainConfig):
    warmup_epochs: int = Field(15, ge=1, le=1000, description="epochs of the CE model whose predictions give T")
    anchor_percentile: float = Field(97.0, gt=0.0, le=100.0, description="percentile of p(i|x) picking class i's anchor")


def estimate_T(probs: np.ndarray, percentile: float) -> np.ndarray:
    K = probs.shape[1]
    T = np.zeros((K, K))
    for i in range(K):
        col = probs[:, i]
        thr = np.percentile(col, percentile, method="higher")
        cand = np.flatnonzero(col >= thr)
        anchor = cand[np.argmin(col[cand])]
        T[i] = probs[anchor]
    return T / T.sum(axis=1, keepdims=True)


@register_method("forward_correction", family="label_noise.robust", config=Config, paper="Patrini et al., CVPR 2017")
def forward_correction(data, cfg: Config, ctx):
    """Forward correction with anchor-point estimated T."""
    s = seed32(ctx)
    warm = train(data.X, data.y, data.n_classes, s, epochs=epochs_for(cfg.warmup_epochs, ctx), lr=cfg.lr,
                 batch_size=cfg.batch_size, hidden=cfg.hidden)
    T = torch.as_tensor(estimate_T(predict_proba(warm, data.X), cfg.anchor_percentile), dtype=torch.float32)
    ctx.add_artifact("estimated_T_diag_mean", float(T.diagonal().mean()))

    def loss(logits, y, idx, ep):
        noisy = torch.softmax(logits, dim=1) @ T
        return F.nll_loss(torch.log(noisy.clamp_min(1e-12)), y)

    return predict(fit(data, cfg, ctx, loss, seed_offset=1), data.X_test)
