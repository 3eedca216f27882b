"""The incentive mechanism of Pang, Wei, Hua et al. (2025), in the form this benchmark can run: clients are scored by
peer prediction on their contributions and heterogeneity is measured by a Wasserstein distance.

- Peer-prediction score: every returned model labels a public, unlabelled probe set held by the server; the score is
  the correlated-agreement score of a client's probe labels with its peers', computed within strata of the *current
  global model's* labels (the shared signal every client starts from; `baselines/common/peer_prediction.py`). A free-rider that
  sends the global model back carries no information beyond that signal and scores ~0; a client trained on corrupted
  labels agrees less with its peers.
- Heterogeneity: W1 distance between the client's reported label distribution and the pooled one (classes as points of
  a 0/1 metric space, where W1 is the total-variation distance); the convergence bound grows with it, so the
  aggregation weight is n_i * max(score_i, 0) * exp(-lambda * W_i).
- Payments are the scores (the reward design that makes effort the best response is checked by the task's
  best-response computation)."""
from __future__ import annotations

import numpy as np

from baselines.common.peer_prediction import ca_scores, fill_missing
from bench.api import register_method
from bench.config import StrictConfig
from tasks.federated.clients import predict

from ._mech import Mechanism, reported_sizes


class Config(StrictConfig):
    lam: float = 1.0


def wasserstein_label_shift(hists: np.ndarray) -> np.ndarray:
    p = hists / np.maximum(hists.sum(axis=1, keepdims=True), 1e-12)
    pooled = hists.sum(axis=0) / max(hists.sum(), 1e-12)
    return 0.5 * np.abs(p - pooled).sum(axis=1)


def peer_scores(updates: np.ndarray, W_global: np.ndarray, X_probe: np.ndarray) -> np.ndarray:
    n = len(updates)
    preds = np.stack([predict(W, X_probe) for W in updates])  # clients x probe items
    items = np.tile(np.arange(X_probe.shape[0]), n)
    workers = np.repeat(np.arange(n), X_probe.shape[0])
    s, _ = ca_scores(items, workers, preds.ravel(), X_probe.shape[0], n, 10, strata=predict(W_global, X_probe))
    return fill_missing(s)


class PeerPrediction(Mechanism):
    def __init__(self, lam: float):
        self.lam = lam

    def aggregate(self, pids, updates, hists, W_global, X_probe, truth):
        s = peer_scores(updates, W_global, X_probe)
        w = reported_sizes(hists) * np.maximum(s, 0) * np.exp(-self.lam * wasserstein_label_shift(hists))
        return (w if w.sum() > 0 else reported_sizes(hists)), s


@register_method("peer_prediction", family="federated.incentives", config=Config,
                 paper="Pang, Wei, Hua et al., 2025")
def peer_prediction(data, cfg: Config, ctx):
    """Peer-prediction scores conditioned on the global model + Wasserstein heterogeneity discount."""
    return PeerPrediction(cfg.lam)
