"""Client data and local training (runs inside Flower ClientApps, possibly in Ray worker processes, so everything is
rebuilt deterministically from the config the server sends)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

HONEST, NOISY, TINY, FREE_RIDER = "honest", "noisy", "tiny", "free_rider"


@lru_cache(maxsize=8)
def partitions(seed: int, n_clients: int, alpha: float, n_low: int):
    """Digits split: test 30 %, probe 10 % (public, unlabelled for the server), the rest to clients by Dirichlet(alpha)
    label proportions. Returns (client data list, client types, X_test, y_test, X_probe)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_te, n_pr = int(0.3 * len(y)), int(0.1 * len(y))
    te, pr, tr = perm[:n_te], perm[n_te:n_te + n_pr], perm[n_te + n_pr:]
    owner = np.empty(len(tr), dtype=int)
    for k in range(10):
        idx = tr[y[tr] == k]
        props = rng.dirichlet(np.full(n_clients, alpha))
        cuts = (np.cumsum(props) * len(idx)).astype(int)[:-1]
        for c, part in enumerate(np.split(rng.permutation(len(idx)), cuts)):
            owner[np.isin(tr, idx[part])] = c
    kinds = [HONEST] * n_clients
    low = rng.permutation(n_clients)[:n_low]
    for j, c in enumerate(low):
        kinds[c] = (NOISY, FREE_RIDER, TINY)[j % 3]
    clients = []
    for c in range(n_clients):
        idx = tr[owner == c]
        Xc, yc = X[idx], y[idx].copy()
        if kinds[c] == NOISY:
            flip = rng.random(len(yc)) < 0.8
            yc[flip] = rng.integers(0, 10, flip.sum())
        if kinds[c] == TINY:
            keep = rng.permutation(len(yc))[: max(2, len(yc) // 10)]
            Xc, yc = Xc[keep], yc[keep]
        clients.append((Xc, yc))
    return clients, tuple(kinds), X[te], y[te], X[pr]


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    return (np.hstack([X, np.ones((len(X), 1))]) @ W).argmax(axis=1)


def local_update(W: np.ndarray, X: np.ndarray, y: np.ndarray, kind: str, epochs: int, lr: float, seed: int) -> np.ndarray:
    """Minibatch SGD on multinomial logistic regression. A free-rider returns the global model unchanged."""
    if kind == FREE_RIDER or len(y) == 0:
        return W.copy()
    rng = np.random.default_rng(seed)
    W = W.copy()
    Xb = np.hstack([X, np.ones((len(X), 1))])
    Y = np.eye(10)[y]
    for _ in range(epochs):
        for s in np.array_split(rng.permutation(len(y)), max(1, len(y) // 32)):
            P = softmax(Xb[s] @ W)
            W -= lr * Xb[s].T @ (P - Y[s]) / len(s)
    return W
