"""The clients' world: data pools, types, the effort a client chooses, and local training.

Everything here is a pure function of a `WorldSpec` (and a client's action), so the same client can be rebuilt inside
a Flower ClientApp in another process (the Ray engine) and give bit-identical updates.

Effort model (the follower's action). Client i owns a pool of labelled examples (a Dirichlet(alpha) label split of
digits). Its raw labels are noisy (each label replaced by another class with probability `raw_noise`); effort buys
two things, each on a small grid:
- `amount` q: the share of its pool it labels and trains on (the first ceil(q * n_pool) examples of a fixed order);
- `cleaning` e: the share of the removable label noise it removes: noise rate = floor + (raw_noise - floor) * (1 - e).
The noise is coupled across actions (example t is corrupted iff u_t < noise rate, with u_t fixed), so more cleaning
never corrupts a label that less cleaning kept. The cost of an action is convex: cost * (q^2 + e^2) per round.

Two client types: 'regular' (raw noise 0.5, no floor, unit cost) and 'low' (low quality: raw noise 0.8, a noise
floor 0.4 that no effort removes, cost x2). The share of low-quality clients is a task parameter.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from math import ceil

import numpy as np

N_CLASSES = 10
N_FEATURES = 64
AMOUNTS = (1 / 3, 2 / 3, 1.0)
CLEANING = (0.0, 0.5, 1.0)
ACTIONS: tuple[tuple[float, float], ...] = tuple((q, e) for q in AMOUNTS for e in CLEANING)  # index = 3*iq + ie
MIN_ACTION = 0  # (1/3, 0.0): the least a participating client can do
FULL_ACTION = len(ACTIONS) - 1  # (1.0, 1.0)

REGULAR, LOW = "regular", "low"
TYPE_PARAMS = {  # raw noise, noise floor, cost multiplier
    REGULAR: (0.5, 0.0, 1.0),
    LOW: (0.8, 0.4, 2.0),
}


@dataclass(frozen=True)
class WorldSpec:
    """What determines the world of one seed (hashable: worlds are cached per process)."""

    seed: int
    n_clients: int = 10
    alpha: float = 0.5
    low_share: float = 0.3
    cost: float = 0.002  # unit effort cost per round (a regular client pays cost * (q^2 + e^2))


@dataclass(frozen=True)
class World:
    spec: WorldSpec
    pools: tuple[tuple[np.ndarray, np.ndarray], ...]  # per client: features, true labels (fixed order)
    wrong: tuple[np.ndarray, ...]  # per client: the wrong label each example gets when corrupted
    u: tuple[np.ndarray, ...]  # per client: uniform draws deciding corruption
    types: tuple[str, ...]
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray  # labelled validation split: the leader's anticipation (never the reported test metrics)
    y_val: np.ndarray
    X_probe: np.ndarray  # public unlabelled probe set held by the server
    y_probe: np.ndarray  # its labels: hidden from mechanisms (used only to measure true update quality)

    @property
    def n_pool(self) -> np.ndarray:
        return np.array([len(p[1]) for p in self.pools])

    def noise_rate(self, i: int, action: int) -> float:
        raw, floor, _ = TYPE_PARAMS[self.types[i]]
        _, e = ACTIONS[action]
        return floor + (raw - floor) * (1.0 - e)

    def cost(self, i: int, action: int) -> float:
        q, e = ACTIONS[action]
        return self.spec.cost * TYPE_PARAMS[self.types[i]][2] * (q * q + e * e)

    def n_used(self, i: int, action: int) -> int:
        n = len(self.pools[i][1])
        return min(n, max(1, ceil(ACTIONS[action][0] * n))) if n else 0

    def client_data(self, i: int, action: int) -> tuple[np.ndarray, np.ndarray]:
        """The examples client i trains on (and reports) under `action`: features and (possibly noisy) labels."""
        X, y = self.pools[i]
        n = self.n_used(i, action)
        corrupt = self.u[i][:n] < self.noise_rate(i, action)
        return X[:n], np.where(corrupt, self.wrong[i][:n], y[:n])

    @cached_property
    def quality_table(self) -> np.ndarray:
        """(clients, actions): label_quality of every client under every action."""
        return np.array([[self.label_quality(i, k) for k in range(len(ACTIONS))] for i in range(self.spec.n_clients)])

    @cached_property
    def n_used_table(self) -> np.ndarray:
        return np.array([[self.n_used(i, k) for k in range(len(ACTIONS))] for i in range(self.spec.n_clients)])

    def label_quality(self, i: int, action: int) -> float:
        """True quality of client i's data under `action`: the share of its training labels that are correct."""
        X, y = self.client_data(i, action)
        return float(np.mean(y == self.pools[i][1][: len(y)])) if len(y) else 0.0


@lru_cache(maxsize=16)
def build_world(spec: WorldSpec) -> World:
    """Digits split by the data seed: test 30 %, validation 10 %, public probe 10 %, the rest (50 %) to the clients by
    Dirichlet(alpha) label proportions; ceil(low_share * n) clients (at random) are of the low-quality type."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float64)
    rng = np.random.default_rng(spec.seed)
    perm = rng.permutation(len(y))
    n_te, n_va, n_pr = int(0.3 * len(y)), int(0.1 * len(y)), int(0.1 * len(y))
    te, va, pr = perm[:n_te], perm[n_te:n_te + n_va], perm[n_te + n_va:n_te + n_va + n_pr]
    tr = perm[n_te + n_va + n_pr:]
    N = spec.n_clients
    owner = np.empty(len(tr), dtype=int)
    for k in range(N_CLASSES):
        idx = np.flatnonzero(y[tr] == k)
        props = rng.dirichlet(np.full(N, spec.alpha))
        cuts = (np.cumsum(props) * len(idx)).astype(int)[:-1]
        for c, part in enumerate(np.split(rng.permutation(idx), cuts)):
            owner[part] = c
    n_low = int(ceil(spec.low_share * N - 1e-9))
    low = set(rng.permutation(N)[:n_low].tolist())
    types = tuple(LOW if c in low else REGULAR for c in range(N))
    pools, wrong, u = [], [], []
    for c in range(N):
        idx = tr[owner == c]
        idx = idx[rng.permutation(len(idx))]
        pools.append((X[idx], y[idx]))
        wrong.append((y[idx] + rng.integers(1, N_CLASSES, len(idx))) % N_CLASSES)
        u.append(rng.random(len(idx)))
    return World(spec, tuple(pools), tuple(wrong), tuple(u), types, X[te], y[te], X[va], y[va], X[pr], y[pr])


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def with_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((len(X), 1))])


def predict_proba(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Class probabilities of one model (W: (65, 10)) or a stack of models (W: (m, 65, 10)) on X."""
    return softmax(with_bias(X) @ W)


def predict(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    return (with_bias(X) @ W).argmax(axis=-1)


def init_model() -> np.ndarray:
    return np.zeros((N_FEATURES + 1, N_CLASSES))


def local_update(W: np.ndarray, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int) -> np.ndarray:
    """Minibatch SGD (batches of ~32) on multinomial logistic regression, starting from the global model W."""
    W = W.copy()
    if len(y) == 0:
        return W
    rng = np.random.default_rng(seed)
    Xb = with_bias(X)
    Y = np.eye(N_CLASSES)[y]
    for _ in range(epochs):
        for s in np.array_split(rng.permutation(len(y)), max(1, len(y) // 32)):
            P = softmax(Xb[s] @ W)
            W -= lr * Xb[s].T @ (P - Y[s]) / len(s)
    return W


def client_train(world: World, pid: int, action: int, W: np.ndarray, round_: int, epochs: int, lr: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One client's reply to a training request: its updated model and its reported label histogram."""
    X, y = world.client_data(pid, action)
    seed = (world.spec.seed * 1_000_003 + round_ * 1009 + pid) % (2**32)
    W2 = local_update(W, X, y, epochs, lr, seed)
    return W2, np.bincount(y, minlength=N_CLASSES).astype(np.float64)
