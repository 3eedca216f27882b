"""SimiFeat (Zhu, Dong & Liu, ICML 2022, "Detecting corrupted labels without training a model to predict";
UCSC-REAL/SimiFeat, main_fast.py), on the task's features.

Per round: each example's k-NN label distribution, the example itself included (the authors take the top-k by cosine
distance, self first, and give self the extrapolated weight 2 s_1 - s_2), each neighbour weighted by its cosine
similarity, l2-normalised; score = -log(distribution[observed label]) (their 'ce' score).
- `vote`: flag when the distribution's argmax differs from the observed label;
- `rank` (the paper's rank-based detection): per observed class k, flag the `r_k` share of its examples with the
  highest scores, where r_k = 1 - P(clean = k | noisy = k) = 1 - T_kk p_k / P(noisy = k) comes from HOC's estimate of
  the transition matrix T and clean prior p (baselines/label_noise/_hoc.py), clipped to [0.05, 0.95]; each round
  jitters T_kk p_k / P(noisy = k) by U(-0.05, 0.05), as the authors do.
Rounds differ by a random feature sub-sample (`feature_fraction`; the authors use image augmentations, which feature
vectors do not have); the final flag is the majority vote over rounds (the authors' aggregation over their 21
"epochs"), the final score the mean score. The HOC estimate is made once, on all features."""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput
from ._hoc import clean_given_noisy_diag, estimate_transition


class Config(StrictConfig):
    k: int = Field(10, ge=2, le=200, description="neighbours, the example itself included")
    mode: Literal["vote", "rank"] = Field("rank", description="vote: kNN majority; rank: HOC-estimated per-class share")
    rounds: int = Field(5, ge=1, le=100, description="rounds of random feature sub-sampling (odd: majority vote)")
    feature_fraction: float = Field(0.8, gt=0.0, le=1.0, description="share of feature columns kept per round")
    hoc_rounds: int = Field(10, ge=1, le=100, description="HOC: random subsets whose consensuses are averaged")
    hoc_sample: int = Field(15000, ge=50, description="HOC: examples per subset (all when fewer)")


def knn_label_distribution(F: np.ndarray, y: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    Fn = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-12)
    S = Fn @ Fn.T
    np.fill_diagonal(S, -np.inf)
    k_other = min(k - 1, len(y) - 1)
    nb = np.argpartition(-S, k_other - 1, axis=1)[:, :k_other]
    sims = np.take_along_axis(S, nb, axis=1)
    order = np.argsort(-sims, axis=1)
    nb, sims = np.take_along_axis(nb, order, axis=1), np.take_along_axis(sims, order, axis=1)
    # self: weight extrapolated from the two nearest neighbours (the authors' 2 d_1 - d_2 on distances)
    self_w = 2 * sims[:, 0] - sims[:, 1] if k_other > 1 else sims[:, 0]
    dist = np.zeros((len(y), n_classes))
    np.add.at(dist, (np.arange(len(y)), y), self_w)
    np.add.at(dist, (np.repeat(np.arange(len(y)), k_other), y[nb].ravel()), sims.ravel())
    return dist / np.maximum(np.linalg.norm(dist, axis=1, keepdims=True), 1e-12)


def rank_flags(scores: np.ndarray, y: np.ndarray, noise_share: np.ndarray) -> np.ndarray:
    """Per observed class k, flag the examples whose score is at or above the (1 - r_k) quantile of the class."""
    flags = np.zeros(len(y), dtype=bool)
    for k in np.unique(y):
        sel = y == k
        thr = np.percentile(scores[sel], 100 * (1 - noise_share[k]))
        flags |= sel & (scores >= thr)
    return flags


@register_method("simifeat", family="label_noise.detection", config=Config, paper="Zhu et al., ICML 2022")
def simifeat(data, cfg: Config, ctx):
    """kNN label distributions on features; HOC-ranked (default) or voted flags."""
    rng = ctx.rng
    X, y, K = data.X, data.y, data.n_classes
    n = len(y)
    keep_share = None
    if cfg.mode == "rank":
        steps = 100 if ctx.smoke else 400  # smoke runs check plumbing only
        T, p = estimate_transition(X - X.mean(0), y, K, rng, cfg.hoc_sample, cfg.hoc_rounds, steps=steps)
        keep_share = clean_given_noisy_diag(T, p, np.bincount(y, minlength=K) / n)
        ctx.add_artifact("hoc_noise_share", np.round(1 - keep_share, 4).tolist())
    votes = np.zeros(n)
    score_sum = np.zeros(n)
    for _ in range(cfg.rounds):
        cols = rng.permutation(X.shape[1])[: max(1, int(cfg.feature_fraction * X.shape[1]))]
        Xr = X[:, cols] - X[:, cols].mean(axis=0)
        dist = knn_label_distribution(Xr, y, cfg.k, K)
        score = -np.log(dist[np.arange(n), y] + 1e-8)
        score_sum += score
        if cfg.mode == "vote":
            votes += dist.argmax(1) != y
        else:
            share = np.clip(1 - (keep_share + rng.uniform(-0.05, 0.05, K)), 0.05, 0.95)
            votes += rank_flags(score, y, share)
    return DetectionOutput(scores=score_sum / cfg.rounds, flags=votes > cfg.rounds / 2)
