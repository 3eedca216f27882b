"""Contract of `crowd.cheating`: a method sees (item, worker, label) triples and the requester's own LLM labels -- never
the ground truth, the cheater/lazy masks or the labels the cheaters' LLMs produced -- and returns one trust score per
worker (higher = more trustworthy)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.contract import Contract, ContractError, register_contract


@dataclass(frozen=True)
class CrowdView:
    """A method's input. `llm_labels[t]` is the requester's *own* LLM sample for item t (-1 where the requester has
    none); it is a separate draw from whatever LLM answers cheaters copied, so it agrees with them only as often as
    the task's LLM world makes it (same model re-sampled, another model, a mixture)."""

    items: np.ndarray  # int[n_labels]
    workers: np.ndarray  # int[n_labels]
    labels: np.ndarray  # int[n_labels]
    llm_labels: np.ndarray  # int[n_items], -1 = not held by the requester
    n_items: int
    n_workers: int
    n_classes: int


@dataclass(frozen=True)
class WorkerScores:
    """A method's output: one finite trust score per worker (higher = more trustworthy; ties are allowed)."""

    scores: np.ndarray

    @classmethod
    def coerce(cls, value: object) -> "WorkerScores":
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as e:
            raise ContractError(f"worker scores must be numbers, got {type(value).__name__}: {e}") from None
        return cls(arr)

    def validate(self, n_workers: int | None = None) -> None:
        s = self.scores
        if s.ndim != 1:
            raise ContractError(f"worker scores must be a 1-D array (one score per worker), got shape {s.shape}")
        if n_workers is not None and s.shape != (n_workers,):
            raise ContractError(f"scores must have shape ({n_workers},) (one per worker), got {s.shape}")
        if not np.isfinite(s).all():
            bad = np.flatnonzero(~np.isfinite(s))
            raise ContractError(f"scores must be finite; worker(s) {bad[:5].tolist()} have {s[bad[:5]].tolist()}")


CONTRACT = register_contract(Contract(
    family="crowd.cheating",
    input_type=CrowdView,
    output_type=WorkerScores,
    description="(item, worker, label) triples + the requester's own LLM labels in (no truth, no cheater mask); "
                "one trust score per worker out (higher = more trustworthy)",
    null_method="random_scores",
    easy_task="crowd-cifar10n-c30",
    # cheaters always copy a stable LLM that the requester re-samples; honest workers are the calibrated humans
    easy_overrides=(("copy_prob", 1.0), ("llm_consistency", 1.0), ("llm_label_fraction", 1.0),
                    ("n_items", 200), ("n_workers", 30), ("labels_per_worker", 60)),
))
