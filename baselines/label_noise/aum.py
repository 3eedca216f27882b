"""Area Under the Margin (Pleiss et al., NeurIPS 2020): train on the noisy labels and average, over epochs, the margin
logit[given] - max(other logits) of every training example; mislabelled examples keep a low (negative) margin.
score = -AUM; flags: AUM below the threshold set by "threshold samples" — a random 1/(K+1) of examples are given an
extra fake class K, and the threshold is the `percentile`-th percentile of their AUM (the paper's 99th)."""
from __future__ import annotations

import numpy as np
import torch

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput, seed32, train


class Config(StrictConfig):
    epochs: int = 30
    lr: float = 2e-3
    percentile: float = 99.0


@register_method("aum", family="label_noise.detection", config=Config, paper="Pleiss et al., NeurIPS 2020")
def aum(data, cfg: Config, ctx):
    """Area under the margin with threshold samples."""
    rng = ctx.rng
    X, y, K = data.X, data.y.copy(), data.n_classes
    n = len(y)
    fake = rng.random(n) < 1.0 / (K + 1)
    y_train = y.copy()
    y_train[fake] = K  # threshold samples: an extra class that is wrong for them by construction
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y_train)
    margins = np.zeros(n)

    def on_epoch(model, ep):
        with torch.no_grad():
            logits = model(Xt)
            assigned = logits.gather(1, yt[:, None]).squeeze(1)
            other = logits.clone()
            other.scatter_(1, yt[:, None], -float("inf"))
            margins[:] += (assigned - other.max(dim=1).values).numpy()

    train(X, y_train, K + 1, seed32(ctx), epochs=cfg.epochs, lr=cfg.lr, on_epoch=on_epoch)
    aum_ = margins / cfg.epochs
    thr = np.percentile(aum_[fake], cfg.percentile) if fake.any() else 0.0
    # threshold samples were trained on the fake class, so their margin says nothing about their observed label:
    # they are never flagged, and rank in the middle of the scores
    flags = (aum_ <= thr) & ~fake
    scores = -aum_
    scores[fake] = np.median(scores[~fake]) if (~fake).any() else 0.0
    return DetectionOutput(scores=scores, flags=flags)
