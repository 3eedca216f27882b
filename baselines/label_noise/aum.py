"""Area Under the Margin (Pleiss et al., NeurIPS 2020; asappresearch/aum, examples/paper_replication).

Margin of an example at an update = its assigned logit minus the largest other logit, read from the training
forward pass of its mini-batch; AUM = the mean margin over all epochs but the first (the authors skip epoch 0).
Threshold samples: a random N/(K+1) of the examples are relabelled to an extra, fake class K, so their margin shows
how a surely-wrong label behaves; an example is flagged when its AUM is below the `percentile`-th percentile of the
threshold samples' AUMs (the authors' 99th, "AUM_WTR").

Every example is scored, as in the authors' procedure: two training runs with *disjoint* threshold sets (the first
and second N/(K+1) of one permutation). An example's score is -(mean AUM over the runs in which it was not a threshold
sample); it is flagged when every such run flags it (the authors combine runs with ceil(1 - bad/count)). Our v1 made
one run and never flagged its threshold samples, which capped recall near 1 - 1/(K+1).
(The authors' runner sizes each set N // K; the paper says N/(c+1), which we follow.)"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput, epochs_for, seed32, train


class Config(StrictConfig):
    epochs: int = Field(20, ge=2, le=1000, description="training epochs of each of the two runs")
    lr: float = Field(2e-3, gt=0.0, le=1.0, description="Adam learning rate")
    batch_size: int = Field(64, ge=1, le=4096, description="mini-batch size (small, as the authors recommend)")
    percentile: float = Field(99.0, ge=0.0, le=100.0, description="threshold-sample AUM percentile below which "
                                                                  "an example is flagged")


def threshold_sets(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random threshold-sample masks of size n // (K + 1) each."""
    m = n // (n_classes + 1)
    perm = rng.permutation(n)
    a, b = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    a[perm[:m]] = True
    b[perm[m: 2 * m]] = True
    return a, b


def aum_run(X: np.ndarray, y: np.ndarray, n_classes: int, fake: np.ndarray, seed: int, epochs: int, lr: float,
            batch_size: int) -> np.ndarray:
    """AUM of every example in one training run whose `fake` examples carry the extra class K."""
    y_run = y.copy()
    y_run[fake] = n_classes
    total = np.zeros(len(y))
    count = np.zeros(len(y))

    def loss(logits, target, idx, ep):
        if ep > 0:
            with torch.no_grad():
                assigned = logits.gather(1, target[:, None]).squeeze(1)
                other = logits.scatter(1, target[:, None], -float("inf")).max(dim=1).values
                total[idx.numpy()] += (assigned - other).numpy()
                count[idx.numpy()] += 1
        return F.cross_entropy(logits, target)

    train(X, y_run, n_classes + 1, seed, loss, epochs, lr, batch_size)
    return total / np.maximum(count, 1)


def combine_runs(aums: list[np.ndarray], fakes: list[np.ndarray], percentile: float) -> tuple[np.ndarray, np.ndarray]:
    """(scores, flags) over the runs: mean AUM over the runs where an example is real; flagged when every such run
    puts it below the percentile of that run's threshold samples."""
    n = len(aums[0])
    total, count = np.zeros(n), np.zeros(n)
    bad = np.ones(n, dtype=bool)
    for a, f in zip(aums, fakes):
        thr = np.percentile(a[f], percentile) if f.any() else -np.inf
        real = ~f
        total[real] += a[real]
        count[real] += 1
        bad &= ~real | (a < thr)
    return -(total / np.maximum(count, 1)), bad & (count > 0)


@register_method("aum", family="label_noise.detection", config=Config, paper="Pleiss et al., NeurIPS 2020")
def aum(data, cfg: Config, ctx):
    """Area under the margin, two runs with disjoint threshold samples (every example scored)."""
    K = data.n_classes
    fakes = threshold_sets(len(data.y), K, ctx.rng)
    epochs = max(2, epochs_for(cfg.epochs, ctx))
    aums = [aum_run(data.X, data.y, K, f, seed32(ctx) + r, epochs, cfg.lr, cfg.batch_size)
            for r, f in enumerate(fakes)]
    scores, flags = combine_runs(aums, list(fakes), cfg.percentile)
    return DetectionOutput(scores=scores, flags=flags)
