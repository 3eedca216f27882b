"""Shared pieces of the SFT selection methods: the reference model and batched per-token losses."""
from __future__ import annotations

import copy

import numpy as np
import torch

from bench.config import StrictConfig
from bench.lm import TrainConfig, collate, token_nll, train_sft


class RefConfig(StrictConfig):
    ref_steps: int = 60
    ref_lr: float = 3e-3


def train_reference(model, examples, pad_id: int, cfg: RefConfig, rng: np.random.Generator):
    """A copy of `model` fine-tuned on `examples` (the clean seed data)."""
    ref = copy.deepcopy(model)
    train_sft(ref, examples, pad_id, TrainConfig(lr=cfg.ref_lr, batch_size=16, max_steps=cfg.ref_steps), rng)
    return ref.eval()


@torch.no_grad()
def token_losses(model, examples, pad_id: int, batch_size: int = 64) -> list[np.ndarray]:
    """Per-token NLL of each example, aligned with its input_ids (0 where there is no label)."""
    model.eval()
    out = []
    for s in range(0, len(examples), batch_size):
        chunk = examples[s: s + batch_size]
        nll, _ = token_nll(model, collate(chunk, pad_id))
        for i, e in enumerate(chunk):
            out.append(nll[i, : len(e["input_ids"])].numpy().astype(np.float64))
    return out


def labelled(e) -> np.ndarray:
    return np.asarray(e["labels"]) != -100


def global_top(scores: list[np.ndarray], masks: list[np.ndarray], ratio: float) -> list[np.ndarray]:
    """Keep the top `ratio` of labelled tokens over the whole dataset by score (one global threshold)."""
    allv = np.concatenate([s[m] for s, m in zip(scores, masks)])
    if len(allv) == 0:
        return [np.zeros_like(s, dtype=np.float32) for s in scores]
    thr = np.quantile(allv, 1 - ratio)
    return [((s >= thr) & m).astype(np.float32) + (~m).astype(np.float32) * 0 for s, m in zip(scores, masks)]


def sample_mean(values: list[np.ndarray], masks: list[np.ndarray]) -> np.ndarray:
    return np.array([v[m].mean() if m.any() else 0.0 for v, m in zip(values, masks)])


def keep_top(score: np.ndarray, budget: float) -> np.ndarray:
    """Sample weights 1 for the `budget` fraction with the highest score, 0 otherwise (stable ties)."""
    k = max(1, int(round(budget * len(score))))
    w = np.zeros(len(score), dtype=np.float32)
    w[np.argsort(-score, kind="stable")[:k]] = 1.0
    return w


class BudgetConfig(RefConfig):
    budget: float = 0.5
