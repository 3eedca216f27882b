"""Named variant: the *crowd* paper's score in place of the generalisation-error gap. Every returned model labels the
server's probe set and is scored by correlated agreement (CA; Shnayder et al., 2016) with its peers' probe labels,
within strata of the global model's labels (`baselines/common/peer_prediction.py`), so that a free-rider returning the
global model carries no information beyond the stratum and scores about 0. Payments and aggregation as in
`peer_prediction` (n_i * max(score_i, 0) * exp(-lam * W_i))."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from baselines.common.peer_prediction import ca_scores, fill_missing
from bench.api import register_method
from tasks.federated.clients import N_CLASSES
from tasks.federated.contract import FLView, RoundView

from .peer_prediction import Config as _GapConfig
from .peer_prediction import PeerPredictionGap


class Config(_GapConfig):
    reward_grid: tuple[float, ...] = Field((0.0, 0.05, 0.1, 0.2, 0.4, 0.8),
                                           description="reward levels the leader chooses among (CA scores are "
                                                       "about twice the gap scores)")


def ca_probe_scores(P: np.ndarray, Pg: np.ndarray) -> np.ndarray:
    """CA scores of the participants' probe labels (argmax of P (m, T, K)), within strata of the global labels."""
    m, T, _ = P.shape
    if m < 2:
        return np.zeros(m)
    preds = P.argmax(axis=-1)  # (m, T)
    items = np.tile(np.arange(T), m)
    workers = np.repeat(np.arange(m), T)
    s, _ = ca_scores(items, workers, preds.ravel(), T, m, N_CLASSES, strata=Pg.argmax(axis=-1))
    return fill_missing(s)


class PeerPredictionCA(PeerPredictionGap):
    def score(self, view: RoundView) -> np.ndarray:
        return ca_probe_scores(view.probe_proba, view.global_probe_proba)


@register_method("peer_prediction_ca", family="federated.incentives", config=Config,
                 paper="variant: correlated agreement on probe labels (the crowd track's score)")
def peer_prediction_ca(data: FLView, cfg: Config, ctx):
    """Correlated agreement of probe labels within global-label strata (crowd score); same payments and weights."""
    return PeerPredictionCA(cfg.lam, cfg.reward_grid)
