"""SFT on the shared loop (`bench.lm.loop`): per-token loss weights/masks, gradient accumulation, bf16 on GPU.

The loss of a batch is sum_t w_t * nll_t / sum_t w_t over labelled tokens (w = 1 without weights; token masks are
0/1 weights), so a masked token contributes exactly nothing to the gradient. For multi-GPU runs wrap the same loop
with accelerate (`accelerate launch`): `train_sft(..., accelerator=Accelerator())`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .data import collate, iter_batches
from .loop import LoopConfig, optimize
from .ops import token_nll


@dataclass
class TrainConfig:
    epochs: float = 1.0
    lr: float = 1e-3
    batch_size: int = 8
    grad_accum: int = 1
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int | None = None
    bf16: bool = True  # only used on CUDA


def train_sft(model, examples: Sequence[dict], pad_id: int, cfg: TrainConfig, rng: np.random.Generator,
              token_weights: Sequence[Sequence[float]] | None = None, device: str = "cpu",
              log: Callable[[dict, int], None] | None = None, accelerator=None) -> dict:
    """Train in place on the shared loop (`bench.lm.loop.optimize`). Returns {'steps', 'tokens', 'final_loss',
    'losses'}."""
    model.to(device)
    n = len(examples)
    per_epoch = math.ceil(n / (cfg.batch_size * cfg.grad_accum))
    total = cfg.max_steps or max(1, int(math.ceil(per_epoch * cfg.epochs)))
    order: list[np.ndarray] = []
    tokens = 0

    def next_batch() -> np.ndarray:
        if not order:
            order.extend(iter_batches(n, cfg.batch_size, rng))
        return order.pop(0)

    def loss_step(_: int):
        nonlocal tokens
        idx = next_batch()
        ex = [examples[i] for i in idx]
        w = [token_weights[i] for i in idx] if token_weights is not None else None
        batch = {k: v.to(device) for k, v in collate(ex, pad_id, w).items()}
        nll, mask = token_nll(model, batch)
        wt = mask.float() * (batch["token_weights"] if "token_weights" in batch else 1.0)
        tokens += int((wt > 0).sum())
        return (nll * wt).sum() / wt.sum().clamp_min(1e-8)

    out = optimize(model, loss_step, LoopConfig(steps=total, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                                warmup_ratio=cfg.warmup_ratio, grad_accum=cfg.grad_accum,
                                                max_grad_norm=cfg.max_grad_norm, bf16=cfg.bf16),
                   device=device, log=log, accelerator=accelerator)
    return {**out, "tokens": tokens}
