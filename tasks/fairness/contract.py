"""Contract of `fairness.active_sampling`: each round a method sees the pool's *features* (never its labels or groups),
the labelled set, the validation set with its group labels, and the current model, and returns the pool positions to
label next (at most `k`: the budget is a maximum, a method may spend less).

Privileges (each reveals what the protocol hides, so a method holding one is never ranked):
- `pool_groups`: the group labels of the pool and of the labelled set (`GroupAwareView`) -- group-aware oracles and
  fair-training references;
- `unlimited_budget`: may select more than `k` (the full-data reference);
- `own_model`: may return a `fit` callable that replaces the task's logistic regression for the test metrics (a
  different learner, e.g. fairlearn's ExponentiatedGradient): the row measures a pipeline, not a sampler.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from bench.contract import Contract, ContractError, Privilege, register_contract

FairnessTarget = Literal["dp", "eop", "eod"]


@dataclass(frozen=True)
class ActiveView:
    """What a selector sees in one round. Return at most `k` distinct positions into `X_pool`."""

    X_pool: np.ndarray
    X_lab: np.ndarray
    y_lab: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    g_val: np.ndarray  # validation group labels (0/1): the only group labels the protocol reveals
    w: np.ndarray  # current logistic-regression parameters (bias last), fitted on (X_lab, y_lab)
    lam: float  # its L2 strength: loss = mean log-loss + lam/2 ||w||^2
    k: int  # the round's budget (a maximum)
    round: int
    rounds: int
    target: FairnessTarget  # the fairness notion the task measures (primary metric): dp, eop or eod


@dataclass(frozen=True)
class GroupAwareView(ActiveView):
    """ActiveView plus the hidden group labels, for methods holding the `pool_groups` privilege."""

    g_pool: np.ndarray | None = None
    g_lab: np.ndarray | None = None


# fit(X_lab, y_lab) -> predict_proba: float[n] = P(y = 1 | x); called by the task after the round's labels arrive
# (rows: the labelled set before the round, then this round's picks in the order returned).
Trainer = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class Selection:
    """A method's output for one round: distinct integer positions into `view.X_pool` (at most `k`), and, only for
    methods holding the `own_model` privilege, a `fit` trainer whose model replaces the task's for the test metrics."""

    positions: np.ndarray
    fit: Trainer | None = None

    @classmethod
    def coerce(cls, value: object) -> "Selection":
        return cls(np.asarray(value))

    def validate(self, pool_size: int | None = None, k: int | None = None, own_model: bool = False) -> None:
        s = self.positions
        if s.ndim != 1:
            raise ContractError(f"selection must be a 1-D array of pool positions, got shape {s.shape}")
        if len(s) and not np.issubdtype(s.dtype, np.integer):
            raise ContractError(f"selection must hold integer pool positions, got dtype {s.dtype}")
        if len(np.unique(s)) != len(s):
            raise ContractError("selection must not repeat a pool position")
        if pool_size is not None and len(s) and (s.min() < 0 or s.max() >= pool_size):
            raise ContractError(f"selection must be distinct integer positions in [0, {pool_size}), "
                                f"got range [{s.min()}, {s.max()}]")
        if k is not None and len(s) > k:
            raise ContractError(f"selected {len(s)} examples, the budget is k={k} (a maximum)")
        if self.fit is not None and not own_model:
            raise ContractError("a selection may carry its own model `fit` only for a method registered with "
                                "privileges={'own_model'}")
        if self.fit is not None and not callable(self.fit):
            raise ContractError(f"Selection.fit must be callable, got {type(self.fit).__name__}")


CONTRACT = register_contract(Contract(
    family="fairness.active_sampling",
    input_type=ActiveView,
    output_type=Selection,
    description="per round: pool features, labelled set, validation set with groups, current model in; at most k "
                "distinct pool positions out",
    privileges=(
        Privilege("pool_groups", "group labels of the pool and of the labelled set", ranked=False),
        Privilege("unlimited_budget", "may select more than k examples per round", ranked=False),
        Privilege("own_model", "replaces the task's logistic regression by the method's own learner", ranked=False),
    ),
    null_method="random_sampling",
    easy_task="fair-adult-sex",
    easy_overrides=(("n_test", 2000), ("pool_max", 1500)),
))
