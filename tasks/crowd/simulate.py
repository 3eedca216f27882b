"""A crowdsourcing simulator calibrated on real human annotators, with the requester's and the cheaters' LLM answers
drawn *separately*.

Honest workers. Each draws a confusion matrix C[k, j] = P(says j | truth k) around one of CIFAR-10N's three MTurk
label slots (fitted against the clean labels), perturbed by a Dirichlet with concentration `worker_concentration` per
row. With `honest_acc=(lo, hi)` the worker's accuracy is drawn uniformly from [lo, hi] instead (its errors keep the
slot's off-diagonal structure): honest skill then varies from novices to experts.

The LLM world. `n_llms` LLMs each have, per item, a modal answer a_m(t) that is right with probability
`llm_accuracy` (errors follow the human confusion structure, so mistakes are plausible and shared between models
only through the truth). One *sample* of model m on item t is a_m(t) with probability `llm_consistency`, else a fresh
draw from the model's confusion row (temperature sampling). Two samples of the same model therefore agree far more
than two different models do, but not always.

The requester holds one sample of model 0 on a random `llm_label_fraction` of the items (the method's
`llm_labels`). Cheaters (`cheater_fraction` of the workers) copy a sample of *their own* LLM on each label with
probability `copy_prob` (partial copying) and otherwise answer as honest workers of their skill would. Their LLM is
`cheater_llm`: "same" (model 0, re-sampled: not the requester's draw), "other" (model 1, never seen by the requester)
or "mixture" (each cheater uses one of the `n_llms` models uniformly at random). Lazy workers (`lazy_fraction`) answer
uniformly at random without looking. Cheaters and lazy workers are the low-effort workers a method should rank last.
Every generator takes an explicit numpy Generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from .contract import CrowdView

CheaterLLM = Literal["same", "other", "mixture"]


@dataclass
class CrowdBundle:
    public: CrowdView
    truth: np.ndarray = field(repr=False)  # int[n_items]
    is_cheater: np.ndarray = field(repr=False)  # bool[n_workers]: copies an LLM part of the time
    is_lazy: np.ndarray = field(repr=False)  # bool[n_workers]: answers at random
    copied: np.ndarray = field(repr=False)  # bool[n_labels]: this label is a copied LLM sample
    # agreement between the requester's LLM label and the copied LLM samples, on held items (diagnostic, hidden)
    requester_cheater_agreement: float = float("nan")

    @property
    def low_effort(self) -> np.ndarray:
        return self.is_cheater | self.is_lazy


@lru_cache(maxsize=1)
def _human_confusions() -> np.ndarray:
    from tasks.common.noise import cifar_n_labels, empirical_transition

    d = cifar_n_labels("CIFAR-10")
    c = d["clean_label"].astype(int)
    out = np.stack([empirical_transition(c, d[f"random_label{i}"].astype(int), 10) for i in (1, 2, 3)])
    out.setflags(write=False)
    return out


def human_confusions() -> np.ndarray:
    """3 x 10 x 10 confusion matrices of the CIFAR-10N annotator slots (random_label1..3 vs clean_label); read once
    per process (the label file is a torch pickle)."""
    return _human_confusions().copy()


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


@dataclass
class LLMWorld:
    """`n_models` LLMs with per-item modal answers; `sample(m, items, rng)` draws fresh answers of model m."""

    modal: np.ndarray  # int[n_models, n_items]
    conf_rows: np.ndarray  # float[n_items, K]: the models' answer distribution given each item's truth
    consistency: float

    @classmethod
    def build(cls, truth: np.ndarray, conf: np.ndarray, n_models: int, consistency: float,
              rng: np.random.Generator) -> "LLMWorld":
        rows = conf[truth]
        modal = np.stack([_draw(rows, rng) for _ in range(n_models)])
        return cls(modal, rows, consistency)

    def sample(self, model: int, items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        keep = rng.random(len(items)) < self.consistency
        return np.where(keep, self.modal[model, items], _draw(self.conf_rows[items], rng))


def n_models_for(cheater_llm: CheaterLLM, n_llms: int) -> int:
    if cheater_llm not in ("same", "other", "mixture"):
        raise ValueError(f"cheater_llm must be 'same', 'other' or 'mixture', got {cheater_llm!r}")
    return max(n_llms, 2) if cheater_llm in ("other", "mixture") else max(n_llms, 1)


def cheater_models(cheater_llm: CheaterLLM, n_cheaters: int, n_models: int, rng: np.random.Generator) -> np.ndarray:
    """Which LLM each cheater copies: model 0 (the requester's, re-sampled), model 1, or one of all models."""
    if cheater_llm == "same":
        return np.zeros(n_cheaters, dtype=int)
    if cheater_llm == "other":
        return np.ones(n_cheaters, dtype=int)
    return rng.integers(0, n_models, size=n_cheaters)


def assign_roles(n_workers: int, cheater_fraction: float, lazy_fraction: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_cheat = int(round(cheater_fraction * n_workers))
    n_lazy = int(round(lazy_fraction * n_workers))
    if n_cheat + n_lazy > n_workers:
        raise ValueError(f"cheater_fraction + lazy_fraction exceed 1 ({n_cheat} + {n_lazy} > {n_workers} workers)")
    perm = rng.permutation(n_workers)
    is_cheater = np.zeros(n_workers, dtype=bool)
    is_lazy = np.zeros(n_workers, dtype=bool)
    is_cheater[perm[:n_cheat]] = True
    is_lazy[perm[n_cheat:n_cheat + n_lazy]] = True
    return is_cheater, is_lazy


def simulate(rng: np.random.Generator, *, n_items: int = 500, n_workers: int = 60, labels_per_worker: int = 100,
             cheater_fraction: float = 0.3, copy_prob: float = 0.9, lazy_fraction: float = 0.0,
             llm_accuracy: float = 0.85, llm_consistency: float = 0.8, cheater_llm: CheaterLLM = "same",
             n_llms: int = 1, llm_label_fraction: float = 0.5, honest_acc: tuple[float, float] | None = None,
             worker_concentration: float = 50.0, base: np.ndarray | None = None,
             truth_prior: np.ndarray | None = None) -> CrowdBundle:
    base = human_confusions() if base is None else base
    K = base.shape[-1]
    prior = np.full(K, 1.0 / K) if truth_prior is None else truth_prior
    truth = rng.choice(K, size=n_items, p=prior)
    world = LLMWorld.build(truth, llm_confusion(llm_accuracy, base.mean(axis=0)), n_models_for(cheater_llm, n_llms),
                           llm_consistency, rng)
    requester = world.sample(0, np.arange(n_items), rng)
    is_cheater, is_lazy = assign_roles(n_workers, cheater_fraction, lazy_fraction, rng)
    models = np.full(n_workers, -1)
    models[is_cheater] = cheater_models(cheater_llm, int(is_cheater.sum()), world.modal.shape[0], rng)
    items_l, workers_l, labels_l, copied_l = [], [], [], []
    m = min(labels_per_worker, n_items)
    for w in range(n_workers):
        slot = base[rng.integers(len(base))]
        if honest_acc is not None:
            slot = llm_confusion(rng.uniform(*honest_acc), slot)
        conf = np.vstack([rng.dirichlet(worker_concentration * row + 1e-3) for row in slot])
        its = rng.choice(n_items, size=m, replace=False)
        if is_lazy[w]:
            lab = rng.integers(0, K, size=m)
        else:
            lab = _draw(conf[truth[its]], rng)
        copy = np.zeros(m, dtype=bool)
        if is_cheater[w]:
            copy = rng.random(m) < copy_prob
            lab = np.where(copy, world.sample(models[w], its, rng), lab)
        items_l.append(its)
        workers_l.append(np.full(m, w))
        labels_l.append(lab)
        copied_l.append(copy)
    held = rng.random(n_items) < llm_label_fraction
    items, workers, labels, copied = (np.concatenate(x) for x in (items_l, workers_l, labels_l, copied_l))
    public = CrowdView(items, workers, labels, np.where(held, requester, -1), n_items, n_workers, K)
    return CrowdBundle(public, truth, is_cheater, is_lazy, copied, _agreement(public, copied))


def _agreement(p: CrowdView, copied: np.ndarray) -> float:
    on = copied & (p.llm_labels[p.items] >= 0)
    return float(np.mean(p.labels[on] == p.llm_labels[p.items[on]])) if on.any() else float("nan")
