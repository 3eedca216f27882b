"""The mechanism of Pang, Wei, Hua, Qian & Liu (2025), "Incentivizing High-quality Participation From Federated
Learning Agents", as this benchmark reads it (only the abstract and introduction were available; docs/federated.md
states the reading and what differs).

Score: the *generalisation-error gap* of a client, measured by peer prediction. The server holds a public
unlabelled probe set. For client i, its peers' models (every participant but i) label the probe set (the argmax of
their mean predicted probabilities); the generalisation error of a model f against those peer labels is estimated by
the peer loss (Liu & Guo, 2020),

    PL(f; y_peer) = mean_t CE(f(x_t), y_peer_t)  -  sum_k q_k * mean_t CE(f(x_t), k),

with q the peer labels' class marginal: the second term is the loss on independently paired items and labels, the
peer-prediction correction that removes agreement due to label marginals alone (it is the exact expectation over
random pairings, so no sampling noise). The score is the gap between the model the client received (the global
model, which is what a free-rider returns) and the model it sent back:

    score_i = PL(f_global; y_peer(-i)) - PL(f_i; y_peer(-i)).

A free-rider scores exactly 0; an update trained on clean data lowers the peer-measured error (score > 0); one
trained on noisy labels raises it. Neither i's report nor anything it controls enters its own peer labels. Scoring
against each peer j separately (the pairwise gap, mean_j [PL(f_j) - PL(f_i)] with labels from the rest) differs from
this by an almost constant term: each client's candidate actions come out in the same order under both, so both give
the same incentives (tests/test_federated.py).

Heterogeneity: W1 (earth mover's) distance, with the 0/1 ground metric between classes, from a client's reported
label distribution to the pooled reported one (= total variation; checked against scipy in the tests). The FedAvg
convergence bound grows with the weighted heterogeneity, so the aggregation weight is n_i * exp(-lam * W_i).

Payments, not weights, carry the score. Weighting by n_i * max(score_i, 0) as well ('score', the v1 rule) or by
n_i * [score_i > 0] ('positive') keeps few updates in rounds where most scores are negative; the ablation is in
docs/federated.md.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig
from tasks.federated.contract import FLView, Mechanism, RoundView

REWARD_GRID = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4)


class Config(StrictConfig):
    aggregate: Literal["score", "positive", "size"] = Field(
        "size", description="aggregation weight: n * max(score, 0) ('score'), n * [score > 0] ('positive') or n "
                             "('size'), each times exp(-lam * W_i)")
    lam: float = Field(1.0, ge=0.0, description="heterogeneity discount of the aggregation weight exp(-lam * W_i)")
    reward_grid: tuple[float, ...] = Field(REWARD_GRID, description="reward levels the leader chooses among "
                                                                    "(payment = reward * max(score, 0) per round)")


def label_shift(hists: np.ndarray) -> np.ndarray:
    """W1 distance (0/1 ground metric, i.e. total variation) from each reported label distribution to the pooled one."""
    hists = np.asarray(hists, dtype=float)
    p = hists / np.maximum(hists.sum(axis=1, keepdims=True), 1e-12)
    pooled = hists.sum(axis=0) / max(hists.sum(), 1e-12)
    return 0.5 * np.abs(p - pooled).sum(axis=1)


def peer_loss(P: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Peer loss of predicted probabilities P (..., T, K) against integer labels (..., T), one value per leading
    index: CE on the paired items minus its expectation over independently paired items and labels."""
    K = P.shape[-1]
    logp = np.log(np.clip(P, 1e-12, 1.0))
    onehot = labels[..., None] == np.arange(K)
    same = -(logp * onehot).sum(axis=(-2, -1)) / labels.shape[-1]
    indep = -(onehot.mean(axis=-2) * logp.mean(axis=-2)).sum(axis=-1)
    return same - indep


def peer_labels(P: np.ndarray) -> np.ndarray:
    """Leave-one-out peer labels: for each participant, the argmax of the other participants' mean probabilities."""
    return (P.sum(axis=0)[None] - P).argmax(axis=-1)


def generalization_gap_scores(P: np.ndarray, Pg: np.ndarray) -> np.ndarray:
    """score_i = PL(global; peer labels of i) - PL(f_i; peer labels of i), from the participants' probe
    probabilities P (m, T, K) and the global model's Pg (T, K)."""
    m, T, K = P.shape
    if m < 2:
        return np.zeros(m)  # no peer to measure against
    y = peer_labels(P)  # (m, T)
    q = np.bincount((y + K * np.arange(m)[:, None]).ravel(), minlength=m * K).reshape(m, K) / T
    logp = np.log(np.maximum(P, 1e-12))
    logg = np.log(np.maximum(Pg, 1e-12))
    t = np.arange(T)
    pl_i = -logp[np.arange(m)[:, None], t, y].mean(axis=1) + (q * logp.mean(axis=1)).sum(axis=1)
    pl_g = -logg[t, y].mean(axis=1) + q @ logg.mean(axis=0)
    return pl_g - pl_i


def pairwise_gap_scores(P: np.ndarray) -> np.ndarray:
    """The literal 'gap between agents': mean over peers j of PL(f_j) - PL(f_i), both against the labels of the
    participants other than i and j (reference implementation for the tests; O(m^2))."""
    m = len(P)
    tot = P.sum(axis=0)
    s = np.zeros(m)
    for i in range(m):
        gaps = []
        for j in range(m):
            if j != i:
                y = (tot - P[i] - P[j]).argmax(axis=-1)
                gaps.append(peer_loss(P[j][None], y[None])[0] - peer_loss(P[i][None], y[None])[0])
        s[i] = np.mean(gaps) if gaps else 0.0
    return s


class PeerPredictionGap(Mechanism):
    def __init__(self, lam: float, reward_grid: tuple[float, ...], aggregate: str = "score"):
        self.lam = lam
        self.reward_grid = tuple(reward_grid)
        self.aggregate = aggregate

    def score(self, view: RoundView) -> np.ndarray:
        return generalization_gap_scores(view.probe_proba, view.global_probe_proba)

    def weights(self, view: RoundView, scores: np.ndarray) -> np.ndarray:
        n = view.reported_sizes
        quality = {"score": np.maximum(scores, 0.0), "positive": (scores > 0).astype(float),
                   "size": np.ones(len(n))}[self.aggregate]
        w = n * quality * np.exp(-self.lam * label_shift(view.reported_hists))
        return w if w.sum() > 0 else n.astype(float)


@register_method("peer_prediction", family="federated.incentives", config=Config,
                 paper="Pang, Wei, Hua, Qian & Liu, 2025 (arXiv:2506.16731)")
def peer_prediction(data: FLView, cfg: Config, ctx):
    """Pays and weights clients by their peer-prediction generalisation-error gap; Wasserstein heterogeneity discount."""
    return PeerPredictionGap(cfg.lam, cfg.reward_grid, cfg.aggregate)
