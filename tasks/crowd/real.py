"""Real crowdsourcing data with injected LLM-copying cheaters (full runs; crowd-kit's loaders need a network).

`crowdkit.datasets.load_dataset(name)` returns (labels frame with columns task / worker / label, ground truth Series
indexed by task). The honest behaviour is real: the workers' own labels. Cheating is injected so that detection can
be scored: items are restricted to those with ground truth, the "LLM" labels each item with accuracy `llm_accuracy`
(errors uniform over the other classes), and a `cheater_fraction` of the real workers replace each of their labels by
the LLM's with probability `copy_prob`. The requester holds the LLM labels of `llm_label_fraction` of the items.
"""
from __future__ import annotations

import numpy as np

from bench.errors import DataUnavailable

from .simulate import CrowdBundle, CrowdData, _draw, llm_confusion


def inject_cheaters(frame, gt, rng: np.random.Generator, cheater_fraction: float, llm_accuracy: float,
                    copy_prob: float, llm_label_fraction: float) -> CrowdBundle:
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
    llm = _draw(llm_confusion(llm_accuracy, uniform_off)[truth], rng)
    items = frame["task"].map(t_id).to_numpy()
    wk = frame["worker"].map(w_id).to_numpy()
    labels = frame["label"].map(cls).to_numpy()
    is_cheater = np.zeros(len(workers), dtype=bool)
    is_cheater[rng.permutation(len(workers))[: int(round(cheater_fraction * len(workers)))]] = True
    copy = is_cheater[wk] & (rng.random(len(labels)) < copy_prob)
    labels = np.where(copy, llm[items], labels)
    held = rng.random(len(tasks)) < llm_label_fraction
    public = CrowdData(items, wk, labels, np.where(held, llm, -1), len(tasks), len(workers), K)
    return CrowdBundle(public, truth, is_cheater)


def load_crowdkit(name: str):
    try:
        from crowdkit.datasets import load_dataset

        frame, gt = load_dataset(name)
    except Exception as e:  # offline or unknown name
        raise DataUnavailable(f"crowd-kit dataset {name!r} could not be loaded (offline?): {type(e).__name__}: {e}. "
                              "Offline, use the embedded simulator (task.source=simulated).") from None
    return frame, gt
