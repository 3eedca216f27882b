"""Contract of `federated.incentives`.

A method is the server's *mechanism*. It receives an `FLView` (what the server knows before training: the number of
clients, the public unlabelled probe set, the model shape) and returns a `Mechanism`: the rules the server announces.
Each round the task hands the mechanism a `RoundView` (the participants' returned models and reported label
histograms, the global model they started from, the probe set) and the mechanism returns one score per participant
and the aggregation weights. Payments are `reward * max(score, 0)` per round, where `reward` is the level the server
(the Stackelberg leader) announces from the mechanism's `reward_grid`; the task computes the clients' best responses
to it and the leader's choice (see tasks/federated/game.py).

Neither view carries the clients' true quality (their effort, label-noise rates, types). The privilege `truth`
(unranked: oracle/reference methods only) adds `ClientTruth` to every RoundView.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from bench.contract import Contract, ContractError, Privilege, register_contract


@dataclass(frozen=True)
class ClientTruth:
    """Hidden truth about the clients of one round (granted by the `truth` privilege only)."""

    label_quality: np.ndarray  # share of correct labels in each client's training data
    n_used: np.ndarray  # true number of examples each client trained on


@dataclass(frozen=True)
class FLView:
    """The server's knowledge before training (a method's input)."""

    n_clients: int
    n_classes: int
    n_features: int
    X_probe: np.ndarray  # public, unlabelled
    privileges: frozenset[str] = frozenset()  # what the method was granted (its round views carry it)


@dataclass(frozen=True)
class RoundView:
    """What the server sees in one round, for the participating clients (in the order of `pids`)."""

    round: int
    pids: tuple[int, ...]
    updates: np.ndarray  # (m, n_features + 1, n_classes): the models the participants returned
    reported_hists: np.ndarray  # (m, n_classes): reported label counts
    global_model: np.ndarray  # the model the participants started from
    X_probe: np.ndarray
    probe_proba: np.ndarray  # (m, T, classes): the returned models' class probabilities on the probe set
    global_probe_proba: np.ndarray  # (T, classes): the global model's
    truth: ClientTruth | None = None

    @property
    def reported_sizes(self) -> np.ndarray:
        return self.reported_hists.sum(axis=1)


class Mechanism:
    """What a federated method returns. Subclasses implement `score` and may override `weights` (default: reported
    sizes, i.e. FedAvg), `select` (default: every client participates) and `reward_grid` (the payment levels the
    leader chooses among; (0.0,) = pays nothing). Scores must not depend on anything outside the RoundView."""

    reward_grid: tuple[float, ...] = (0.0,)

    def score(self, view: RoundView) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def weights(self, view: RoundView, scores: np.ndarray) -> np.ndarray:
        return view.reported_sizes.astype(float)

    def select(self, round_: int, n_clients: int, rng: np.random.Generator) -> Sequence[int]:
        return range(n_clients)

    def validate(self, n_clients: int | None = None) -> None:
        if type(self).score is Mechanism.score:
            raise ContractError(f"{type(self).__name__} must implement score(view) -> one score per participant")
        grid = tuple(self.reward_grid)
        if not grid:
            raise ContractError(f"{type(self).__name__}.reward_grid is empty: give at least (0.0,)")
        for a in grid:
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a) or a < 0:
                raise ContractError(f"{type(self).__name__}.reward_grid must hold finite numbers >= 0, got {a!r}")
        if len(set(grid)) != len(grid):
            raise ContractError(f"{type(self).__name__}.reward_grid has duplicates: {grid}")

    def check_round(self, view: RoundView, scores, weights) -> tuple[np.ndarray, np.ndarray]:
        """Validate one round's output: one finite score and one finite weight >= 0 per participant."""
        m = len(view.pids)
        s = np.asarray(scores, dtype=float)
        w = np.asarray(weights, dtype=float)
        name = type(self).__name__
        if s.shape != (m,):
            raise ContractError(f"{name}.score must return one score per participant: expected shape ({m},), "
                                f"got {s.shape}")
        if w.shape != (m,):
            raise ContractError(f"{name}.weights must return one weight per participant: expected shape ({m},), "
                                f"got {w.shape}")
        if not np.isfinite(s).all():
            raise ContractError(f"{name}.score returned non-finite scores {s.tolist()}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ContractError(f"{name}.weights must be finite and >= 0, got {w.tolist()}")
        return s, w

    def check_selection(self, sel, n_clients: int) -> list[int]:
        out = sorted({int(c) for c in sel})
        if out and (out[0] < 0 or out[-1] >= n_clients):
            raise ContractError(f"{type(self).__name__}.select returned client ids outside [0, {n_clients}): {out}")
        return out


def payments(scores: np.ndarray, reward: float) -> np.ndarray:
    """The payment rule every mechanism announces: reward * max(score, 0) per participant and round."""
    return reward * np.maximum(np.asarray(scores, dtype=float), 0.0)


CONTRACT = register_contract(Contract(
    family="federated.incentives",
    input_type=FLView,
    output_type=Mechanism,
    description="FLView (client count, public unlabelled probe set) in; a Mechanism (score, weights, select, "
                "reward_grid) out, called once per round with a RoundView",
    privileges=(Privilege("truth", "the clients' true label quality and data amounts (ClientTruth)", ranked=False),),
    null_method="random_selection",
    easy_task="fl-digits-dir05",
    easy_overrides=(("n_clients", 6), ("rounds", 8), ("checkpoints", 2)),
))
