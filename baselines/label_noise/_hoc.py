"""HOC: the noise transition matrix from high-order consensuses of 2-nearest-neighbour labels (Zhu, Song & Liu,
ICML 2021, UCSC-REAL/HOC), as SimiFeat's rank mode uses it.

If an example and its two nearest neighbours (cosine, on features) share the clean label ("2-NN clusterability"),
their three noisy labels are independent draws from the same row of T, so with p the clean prior:
    c1[j]       = P(y1 = j)                    = sum_i p_i T_ij
    c2[j, k]    = P(y1 = j, y2 = k)            = sum_i p_i T_ij T_ik
    c3[j, k, l] = P(y1 = j, y2 = k, y3 = l)    = sum_i p_i T_ij T_ik T_il
The empirical consensuses are counted on `rounds` random subsets of `sample_size` examples (the authors: 15,000
examples x 50 rounds on CIFAR) and averaged; (T, p) minimise ||c1 - e1|| + ||c2 - e2||_F + ||c3 - e3||_F with T =
row-softmax(A), p = softmax(b), Adam lr 0.1 for 400 steps (SimiFeat's max_iter), A initialised at 5 I - 1, keeping the iterate with the smallest loss
after step 5 (the authors' solver). Returns T (K x K, row-stochastic) and p."""
from __future__ import annotations

import numpy as np
import torch


def consensus_counts(F: np.ndarray, y: np.ndarray, n_classes: int) -> list[np.ndarray]:
    """Empirical first-, second- and third-order consensuses of (y, y of 1st NN, y of 2nd NN) on one subset."""
    Fn = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-12)
    S = Fn @ Fn.T
    np.fill_diagonal(S, -np.inf)
    nn2 = np.argpartition(-S, 1, axis=1)[:, :2]
    first = np.where(S[np.arange(len(y)), nn2[:, 0]] >= S[np.arange(len(y)), nn2[:, 1]], nn2[:, 0], nn2[:, 1])
    second = np.where(first == nn2[:, 0], nn2[:, 1], nn2[:, 0])
    K, n = n_classes, len(y)
    e1 = np.bincount(y, minlength=K) / n
    e2 = np.zeros((K, K))
    np.add.at(e2, (y, y[first]), 1.0)
    e3 = np.zeros((K, K, K))
    np.add.at(e3, (y, y[first], y[second]), 1.0)
    return [e1, e2 / n, e3 / n]


def consensus_of(T: torch.Tensor, p: torch.Tensor) -> list[torch.Tensor]:
    """Predicted consensuses c1, c2, c3 of a transition matrix T and clean prior p."""
    return [p @ T, torch.einsum("i,ij,ik->jk", p, T, T), torch.einsum("i,ij,ik,il->jkl", p, T, T, T)]


def solve(est: list[np.ndarray], n_classes: int, steps: int = 400, lr: float = 0.1,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    K = n_classes
    A = (5 * torch.eye(K) - torch.ones(K, K)).requires_grad_(True)
    b = (torch.ones(K) / K + torch.rand(K, generator=g) * 0.1).requires_grad_(True)
    e = [torch.as_tensor(x, dtype=torch.float32) for x in est]
    opt = torch.optim.Adam([A, b], lr=lr)
    best, best_T, best_p = float("inf"), None, None
    for step in range(steps):
        T, p = torch.softmax(A, dim=1), torch.softmax(b, dim=0)
        loss = sum(torch.linalg.norm(c - x) for c, x in zip(consensus_of(T, p), e))
        if step > 5 and loss.item() < best:
            best, best_T, best_p = loss.item(), T.detach().clone(), p.detach().clone()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return best_T.numpy().astype(np.float64), best_p.numpy().astype(np.float64)


def estimate_transition(F: np.ndarray, y: np.ndarray, n_classes: int, rng: np.random.Generator,
                        sample_size: int = 15000, rounds: int = 10, steps: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """HOC's global estimate of (T, p) from features F and noisy labels y."""
    n = len(y)
    m = min(sample_size, n)
    acc = None
    for _ in range(rounds if m < n else 1):
        idx = rng.choice(n, m, replace=False) if m < n else np.arange(n)
        c = consensus_counts(F[idx], y[idx], n_classes)
        acc = c if acc is None else [a + x for a, x in zip(acc, c)]
    r = rounds if m < n else 1
    est = [a / r for a in acc]
    return solve(est, n_classes, steps=steps, seed=int(rng.integers(2**31)))


def clean_given_noisy_diag(T: np.ndarray, p: np.ndarray, noisy_prior: np.ndarray) -> np.ndarray:
    """P(clean = k | noisy = k) = T_kk p_k / P(noisy = k): the per-class share of correct observed labels."""
    return np.diag(T) * p / np.maximum(noisy_prior, 1e-12)
