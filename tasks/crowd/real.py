"""Real crowdsourcing data with injected low-effort workers (full runs; crowd-kit's loaders need a network).

`crowdkit.datasets.load_dataset(name)` returns (labels frame with columns task / worker / label, ground truth Series
indexed by task). The honest behaviour is real: the workers' own labels. Low-effort behaviour is injected so that
detection can be scored, in the same LLM world as the simulator (tasks/crowd/simulate.py): items are restricted to
those with ground truth; `n_llms` LLMs have per-item modal answers right with probability `llm_accuracy` (errors
uniform over the other classes) and are sampled with `llm_consistency`; the requester holds its *own* sample of model 0
on `llm_label_fraction` of the items; a `cheater_fraction` of the real workers replace each of their labels, with
probability `copy_prob`, by a fresh sample of their LLM (`cheater_llm`: same / other / mixture); a `lazy_fraction` of
the real workers have all their labels replaced by uniform random ones.
"""
from __future__ import annotations

import numpy as np

from bench.errors import DataUnavailable

from .contract import CrowdView
from .simulate import CrowdBundle, LLMWorld, _agreement, assign_roles, cheater_models, llm_confusion, n_models_for


def inject_cheaters(frame, gt, rng: np.random.Generator, *, cheater_fraction: float, copy_prob: float,
                    llm_accuracy: float, llm_label_fraction: float, lazy_fraction: float = 0.0,
                    llm_consistency: float = 0.8, cheater_llm: str = "same", n_llms: int = 1) -> CrowdBundle:
    missing = [c for c in ("task", "worker", "label") if c not in frame.columns]
    if missing:
        raise DataUnavailable(f"crowd labels frame lacks column(s) {missing} (has {list(frame.columns)})")
    frame = frame[frame["task"].isin(gt.index)]
    if frame.empty:
        raise DataUnavailable("no labelled item has ground truth: cheater detection cannot be scored")
    classes = sorted(set(frame["label"]) | set(gt.loc[frame["task"].unique()]))
    cls = {c: i for i, c in enumerate(classes)}
    tasks = sorted(frame["task"].unique())
    t_id = {t: i for i, t in enumerate(tasks)}
    workers = sorted(frame["worker"].unique())
    w_id = {w: i for i, w in enumerate(workers)}
    K = len(classes)
    truth = np.array([cls[gt.loc[t]] for t in tasks])
    uniform_off = (np.ones((K, K)) - np.eye(K)) / max(1, K - 1)
    world = LLMWorld.build(truth, llm_confusion(llm_accuracy, uniform_off), n_models_for(cheater_llm, n_llms),
                           llm_consistency, rng)
    requester = world.sample(0, np.arange(len(tasks)), rng)
    items = frame["task"].map(t_id).to_numpy()
    wk = frame["worker"].map(w_id).to_numpy()
    labels = frame["label"].map(cls).to_numpy().copy()  # writable (pandas copy-on-write hands out read-only views)
    is_cheater, is_lazy = assign_roles(len(workers), cheater_fraction, lazy_fraction, rng)
    models = np.full(len(workers), -1)
    models[is_cheater] = cheater_models(cheater_llm, int(is_cheater.sum()), world.modal.shape[0], rng)
    copied = np.zeros(len(labels), dtype=bool)
    for w in np.flatnonzero(is_cheater):
        rows = np.flatnonzero(wk == w)
        c = rng.random(len(rows)) < copy_prob
        labels[rows[c]] = world.sample(models[w], items[rows[c]], rng)
        copied[rows[c]] = True
    lazy_rows = is_lazy[wk]
    labels[lazy_rows] = rng.integers(0, K, size=int(lazy_rows.sum()))
    held = rng.random(len(tasks)) < llm_label_fraction
    public = CrowdView(items, wk, labels, np.where(held, requester, -1), len(tasks), len(workers), K)
    return CrowdBundle(public, truth, is_cheater, is_lazy, copied, _agreement(public, copied))


def load_crowdkit(name: str):
    try:
        from crowdkit.datasets import load_dataset

        frame, gt = load_dataset(name)
    except Exception as e:  # offline or unknown name
        raise DataUnavailable(f"crowd-kit dataset {name!r} could not be loaded (offline?): {type(e).__name__}: {e}. "
                              "Offline, use the embedded simulator (task.source=simulated).") from None
    return frame, gt
