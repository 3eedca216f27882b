"""The two-stage Stackelberg game (server = leader, clients = followers), solved by backward induction.

Stage 1 (leader): the server announces its mechanism and a reward level `a` from the mechanism's `reward_grid`;
payments are `a * max(score_i, 0)` per round. Stage 2 (followers): each client picks an action (amount of data,
label cleaning; tasks/federated/clients.py) maximising

    u_i(x) = a * E[max(score_i(x), 0)] - cost_i(x_i)            (per round)

given the others' actions. Then federated training runs with the chosen actions.

Followers' expected scores (complete information: clients know the rule and each other's costs, as the Stackelberg
model assumes) are estimated on a *rehearsal*: from a few checkpoint global models (taken from the first-best run,
rounds 0, R/3, 2R/3), every client's local update under every action is computed once; the score of any action
profile is then the mechanism's own `score` on those updates (the mean over checkpoints). The follower equilibrium is
reached by Gauss-Seidel best-response dynamics (at most `max_sweeps` sweeps), started from the equilibrium of the next
lower reward level (the no-effort profile for the lowest; higher rewards only raise effort here); `eps` is the
largest gain any client could still get by deviating alone (0 = an exact pure Nash equilibrium of the rehearsal game).

The leader anticipates the followers: for each `a` it computes their equilibrium, runs the federated training with
those actions, and scores `U(a) = validation accuracy - price * total payment per round` (validation accuracy: the
mean over the last 3 rounds, on a validation split held for this purpose, never the test split); it announces the
best `a` (ties: the smaller).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .clients import ACTIONS, MIN_ACTION, World, client_train, predict_proba
from .contract import Mechanism, RoundView


@dataclass(frozen=True)
class Rehearsal:
    checkpoints: tuple[np.ndarray, ...]
    updates: np.ndarray  # (C, N, K, d+1, classes)
    hists: np.ndarray  # (N, K, classes)
    proba: np.ndarray  # (C, N, K, T, classes): the updates' probabilities on the probe set
    global_proba: np.ndarray  # (C, T, classes)


def make_rehearsal(world: World, checkpoints: list[np.ndarray], epochs: int, lr: float) -> Rehearsal:
    N, K = world.spec.n_clients, len(ACTIONS)
    ups = np.empty((len(checkpoints), N, K) + checkpoints[0].shape)
    hists = np.empty((N, K, checkpoints[0].shape[1]))
    for c, W in enumerate(checkpoints):
        for i in range(N):
            for k in range(K):
                ups[c, i, k], hists[i, k] = client_train(world, i, k, W, -1 - c, epochs, lr)
    proba = predict_proba(ups, world.X_probe)
    gproba = np.stack([predict_proba(W, world.X_probe) for W in checkpoints])
    return Rehearsal(tuple(checkpoints), ups, hists, proba, gproba)


ViewFor = Callable[[tuple[int, ...]], Callable[..., RoundView]]  # profile -> make_view(r, pids, updates, hists, W)


@dataclass
class FollowerGame:
    world: World
    mechanism: Mechanism
    rehearsal: Rehearsal
    view_for: ViewFor
    _cache: dict = field(default_factory=dict)
    score_calls: int = 0

    def pay_basis(self, profile: tuple[int, ...]) -> np.ndarray:
        """E[max(score_i, 0)] over the checkpoints, for every client, under `profile` (payment = a * this)."""
        hit = self._cache.get(profile)
        if hit is not None:
            return hit
        N = len(profile)
        idx = np.arange(N)
        prof = np.asarray(profile)
        make_view = self.view_for(profile)
        pids = tuple(range(N))
        rows = []
        for c, W in enumerate(self.rehearsal.checkpoints):
            reh = self.rehearsal
            view = make_view(-1 - c, pids, reh.updates[c, idx, prof], reh.hists[idx, prof], W,
                             reh.proba[c, idx, prof], reh.global_proba[c])
            s = self.mechanism.score(view)
            s, _ = self.mechanism.check_round(view, s, np.ones(N))
            rows.append(np.maximum(s, 0.0))
            self.score_calls += 1
        out = np.mean(rows, axis=0)
        self._cache[profile] = out
        return out

    def utilities(self, i: int, profile: tuple[int, ...], reward: float) -> np.ndarray:
        """u_i(k, x_-i) for every action k."""
        out = np.empty(len(ACTIONS))
        for k in range(len(ACTIONS)):
            dev = profile[:i] + (k,) + profile[i + 1:]
            pay = reward * self.pay_basis(dev)[i] if reward > 0 else 0.0
            out[k] = pay - self.world.cost(i, k)
        return out

    def best_response(self, i: int, profile: tuple[int, ...], reward: float) -> int:
        u = self.utilities(i, profile, reward)
        cur = profile[i]
        best = int(np.argmax(u))
        # keep the current action unless a deviation gains strictly (numerical ties never move a client)
        return cur if u[cur] >= u[best] - 1e-12 else best

    def equilibrium(self, reward: float, max_sweeps: int = 6, start: tuple[int, ...] | None = None) -> "Equilibrium":
        """Gauss-Seidel best-response dynamics from `start` (default: every client at the cheapest action)."""
        N = self.world.spec.n_clients
        x = tuple([MIN_ACTION] * N)
        if reward <= 0:  # nothing is paid: the cheapest action is every client's dominant strategy
            return Equilibrium(reward, x, 0.0, 0, True)
        x = tuple(start) if start is not None else x
        sweeps, converged = 0, False
        while sweeps < max_sweeps:
            sweeps += 1
            changed = False
            for i in range(N):
                k = self.best_response(i, x, reward)
                if k != x[i]:
                    x = x[:i] + (k,) + x[i + 1:]
                    changed = True
            if not changed:
                converged = True
                break
        eps = 0.0 if converged else max(float(self.utilities(i, x, reward).max() - self.utilities(i, x, reward)[x[i]])
                                         for i in range(N))
        return Equilibrium(reward, x, eps, sweeps, converged)


@dataclass(frozen=True)
class Equilibrium:
    reward: float
    profile: tuple[int, ...]
    eps: float  # largest unilateral gain left (0: exact pure Nash equilibrium of the rehearsal game)
    sweeps: int
    converged: bool
