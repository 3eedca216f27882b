"""Correlated-agreement (CA) peer-prediction scores (Shnayder, Agarwal, Frongillo & Parkes, EC 2016), in expectation
form, optionally conditioned on a stratifying signal (the requester's LLM labels, Zhang et al. 2025).

Within a stratum s (all items, or the items whose LLM label is l):
- the pooled peer joint J_s(a, b) counts ordered pairs of *different* workers on the same item reporting (a, b);
  Delta_s = J_s / sum(J_s) - m m^T with m the marginal of J_s; the scoring matrix is S_s = [Delta_s > 0];
- bonus of a report a of worker i on item t: the mean of S_s(a, x_jt) over the other workers j on t;
- penalty of worker i: sum_{a,b} S_s(a, b) p_i(a) q(b), with p_i worker i's report distribution in the stratum and q
  the stratum's report distribution (the expected score on two *different* random items);
- worker score = mean over its counted reports of (bonus - penalty).
A worker whose reports carry no information beyond the stratum (e.g. copying the LLM label that defines it) scores
about 0; informative honest workers score > 0. All counts are vectorised: O(n_labels * K).
"""
from __future__ import annotations

import numpy as np


def ca_scores(items: np.ndarray, workers: np.ndarray, labels: np.ndarray, n_items: int, n_workers: int,
              n_classes: int, strata: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (scores float[n_workers], n_counted int[n_workers]). `strata`: int[n_items], -1 = item not used."""
    K = n_classes
    item_stratum = np.zeros(n_items, dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    total = np.zeros(n_workers)
    counted = np.zeros(n_workers, dtype=np.int64)
    N = np.zeros((n_items, K))
    np.add.at(N, (items, labels), 1.0)
    n_t = N.sum(axis=1)
    row_stratum = item_stratum[items]
    for s in np.unique(item_stratum[item_stratum >= 0]):
        rows = np.flatnonzero((row_stratum == s) & (n_t[items] >= 2))
        if len(rows) == 0:
            continue
        its = np.flatnonzero(item_stratum == s)
        Ns = N[its]
        J = Ns.T @ Ns - np.diag(Ns.sum(axis=0))
        if J.sum() <= 0:
            continue
        P = J / J.sum()
        m = P.sum(axis=1)
        S = (P - np.outer(m, m) > 0).astype(float)
        a = labels[rows]
        t = items[rows]
        bonus = ((N[t] @ S.T)[np.arange(len(rows)), a] - S[a, a]) / (n_t[t] - 1)
        q = np.bincount(a, minlength=K).astype(float)
        q /= q.sum()
        w = workers[rows]
        p_w = np.zeros((n_workers, K))
        np.add.at(p_w, (w, a), 1.0)
        cnt = p_w.sum(axis=1)
        p_w = p_w / np.maximum(cnt, 1)[:, None]
        penalty = (p_w @ S @ q)  # per worker
        np.add.at(total, w, bonus - penalty[w])
        counted += cnt.astype(np.int64)
    scores = np.where(counted > 0, total / np.maximum(counted, 1), np.nan)
    return scores, counted


def fill_missing(scores: np.ndarray) -> np.ndarray:
    """Workers with nothing to score get the median score (neither trusted nor flagged first)."""
    if np.isnan(scores).all():
        return np.zeros_like(scores)
    return np.where(np.isnan(scores), np.nanmedian(scores), scores)
