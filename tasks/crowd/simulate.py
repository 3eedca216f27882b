"""A crowdsourcing simulator calibrated on real human annotators.

Honest workers: each draws a confusion matrix from the CIFAR-10N human annotators (three MTurk label slots, fitted
Dawid-Skene style against the clean labels: C[k, j] = P(worker says j | truth k)), perturbed by a Dirichlet with
concentration `worker_concentration` per row. The "LLM" labeller has its own confusion: accuracy `llm_accuracy` on
every class, its errors following the human confusion structure of the `worse_label` slot (so the LLM makes
plausible, systematic mistakes). A cheater copies the LLM's label with probability `copy_prob` and otherwise answers
as an honest worker would. The requester holds the LLM's labels on a random `llm_label_fraction` of items.
Every generator takes an explicit numpy Generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CrowdData:
    """What a method sees: (item, worker, label) triples and the requester's LLM labels (-1 where unknown)."""

    items: np.ndarray  # int[n_labels]
    workers: np.ndarray  # int[n_labels]
    labels: np.ndarray  # int[n_labels]
    llm_labels: np.ndarray  # int[n_items], -1 = not held by the requester
    n_items: int
    n_workers: int
    n_classes: int


@dataclass
class CrowdBundle:
    public: CrowdData
    truth: np.ndarray = field(repr=False)  # int[n_items]
    is_cheater: np.ndarray = field(repr=False)  # bool[n_workers]


def human_confusions() -> np.ndarray:
    """3 x 10 x 10 confusion matrices of the CIFAR-10N annotator slots (random_label1..3 vs clean_label)."""
    from tasks.common.noise import cifar_n_labels, empirical_transition

    d = cifar_n_labels("CIFAR-10")
    c = d["clean_label"].astype(int)
    return np.stack([empirical_transition(c, d[f"random_label{i}"].astype(int), 10) for i in (1, 2, 3)])


def llm_confusion(accuracy: float, base: np.ndarray) -> np.ndarray:
    """Diagonal = accuracy; off-diagonal mass distributed like the off-diagonal of `base`."""
    K = base.shape[0]
    off = base * (1 - np.eye(K))
    off = off / np.maximum(off.sum(axis=1, keepdims=True), 1e-12)
    return accuracy * np.eye(K) + (1 - accuracy) * off


def _draw(conf_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One label per row of a stack of categorical distributions."""
    u = rng.random(len(conf_rows))
    return np.minimum((u[:, None] >= np.cumsum(conf_rows, axis=1)).sum(axis=1), conf_rows.shape[1] - 1)


def simulate(rng: np.random.Generator, n_items: int = 500, n_workers: int = 60, labels_per_worker: int = 100,
             cheater_fraction: float = 0.3, llm_accuracy: float = 0.85, copy_prob: float = 0.9,
             llm_label_fraction: float = 0.5, worker_concentration: float = 50.0,
             base: np.ndarray | None = None, truth_prior: np.ndarray | None = None) -> CrowdBundle:
    base = human_confusions() if base is None else base
    K = base.shape[-1]
    prior = np.full(K, 1.0 / K) if truth_prior is None else truth_prior
    truth = rng.choice(K, size=n_items, p=prior)
    worst = base.mean(axis=0)
    llm_conf = llm_confusion(llm_accuracy, worst)
    llm = _draw(llm_conf[truth], rng)
    n_cheat = int(round(cheater_fraction * n_workers))
    is_cheater = np.zeros(n_workers, dtype=bool)
    is_cheater[rng.permutation(n_workers)[:n_cheat]] = True
    items_l, workers_l, labels_l = [], [], []
    m = min(labels_per_worker, n_items)
    for w in range(n_workers):
        slot = base[rng.integers(len(base))]
        conf = np.vstack([rng.dirichlet(worker_concentration * row + 1e-3) for row in slot])
        its = rng.choice(n_items, size=m, replace=False)
        lab = _draw(conf[truth[its]], rng)
        if is_cheater[w]:
            copy = rng.random(m) < copy_prob
            lab = np.where(copy, llm[its], lab)
        items_l.append(its)
        workers_l.append(np.full(m, w))
        labels_l.append(lab)
    held = rng.random(n_items) < llm_label_fraction
    public = CrowdData(np.concatenate(items_l), np.concatenate(workers_l), np.concatenate(labels_l),
                       np.where(held, llm, -1), n_items, n_workers, K)
    return CrowdBundle(public, truth, is_cheater)
