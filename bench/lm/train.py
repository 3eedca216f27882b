"""SFT on the shared loop (`bench.lm.loop`): per-token weights/masks, a per-batch token-weight plug-in, a fixed
training order (curricula, chunked chains), a frozen trunk, gradient accumulation, bf16 on GPU.

The loss of a batch is sum_t w_t * nll_t / sum_t w_t over labelled tokens (w = 1 without weights; token masks are
0/1 weights), so a masked token contributes exactly nothing to the gradient. `token_weight_fn(batch_view)` (e.g.
Rho-1's excess loss against a reference, scored with the model being trained) returns weights for the current
micro-batch from the detached per-token loss of that very forward pass; they multiply the static weights.
For multi-GPU runs wrap the same loop with accelerate: `train_sft(..., accelerator=Accelerator())`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .data import collate, iter_batches
from .loop import LoopConfig, optimize


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


@dataclass
class BatchView:
    """What a per-batch token-weight plug-in sees: the micro-step, the indices (into the trained example list) of the
    batch's examples, the per-token loss of the current forward pass (detached, [B, T], 0 where unlabelled), the
    label mask, the model being trained (score with it under no_grad only) and the frozen trunk (or None)."""

    step: int
    indices: np.ndarray
    nll: Any
    mask: Any
    model: Any
    trunk: Any = None


def plan_steps(n: int, cfg: TrainConfig) -> int:
    per_epoch = math.ceil(n / (cfg.batch_size * cfg.grad_accum))
    return cfg.max_steps or max(1, int(math.ceil(per_epoch * cfg.epochs)))


def train_sft(model, examples: Sequence[dict], pad_id: int, cfg: TrainConfig, rng: np.random.Generator,
              token_weights: Sequence[Sequence[float]] | None = None, device: str = "cpu",
              log: Callable[[dict, int], None] | None = None, accelerator=None, order: Sequence[int] | None = None,
              token_weight_fn: Callable[[BatchView], Any] | None = None, trunk=None) -> dict:
    """Train in place on the shared loop (`bench.lm.loop.optimize`). `order`: train on consecutive batches of these
    example indices (cycling when the step budget exceeds one pass) instead of reshuffled epochs. Returns
    {'steps', 'final_loss', 'losses', 'tokens' (trained tokens, weight > 0, summed over batches), 'static_tokens'
    (the same before the plug-in's weights), 'weighted_tokens' (sum of weights)}."""
    import torch

    from .trunk import token_nll_fast

    model.to(device)
    n = len(examples)
    if n == 0:
        raise ValueError("train_sft: no training examples")
    total = plan_steps(n, cfg)
    queue: list[np.ndarray] = []
    fixed = np.asarray(order, dtype=np.int64) if order is not None else None
    if fixed is not None and (fixed.ndim != 1 or len(fixed) == 0 or fixed.min() < 0 or fixed.max() >= n):
        raise ValueError(f"order must be a non-empty 1-D array of indices in [0, {n})")
    stats = {"tokens": 0, "weighted_tokens": 0.0, "static_tokens": 0}

    def next_batch() -> np.ndarray:
        if not queue:
            if fixed is not None:
                queue.extend(fixed[s: s + cfg.batch_size] for s in range(0, len(fixed), cfg.batch_size))
            else:
                queue.extend(iter_batches(n, cfg.batch_size, rng))
        return queue.pop(0)

    def loss_step(micro: int):
        idx = next_batch()
        ex = [examples[i] for i in idx]
        w = [token_weights[i] for i in idx] if token_weights is not None else None
        batch = {k: v.to(device) for k, v in collate(ex, pad_id, w).items()}
        nll, mask = token_nll_fast(model, batch, trunk)
        wt = mask.float() * (batch["token_weights"] if "token_weights" in batch else 1.0)
        stats["static_tokens"] += int((wt > 0).sum())
        if token_weight_fn is not None:
            dyn = token_weight_fn(BatchView(micro, np.asarray(idx), nll.detach(), mask, model, trunk))
            dyn = torch.as_tensor(dyn, dtype=torch.float32, device=wt.device)
            if dyn.shape != wt.shape or not torch.isfinite(dyn).all() or (dyn < 0).any():
                raise ValueError(f"token_weight_fn must return finite non-negative weights of shape {tuple(wt.shape)}"
                                 f", got shape {tuple(dyn.shape)}")
            wt = wt * dyn
        stats["tokens"] += int((wt > 0).sum())
        stats["weighted_tokens"] += float(wt.sum())
        return (nll * wt).sum() / wt.sum().clamp_min(1e-8)

    out = optimize(model, loss_step, LoopConfig(steps=total, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                                warmup_ratio=cfg.warmup_ratio, grad_accum=cfg.grad_accum,
                                                max_grad_norm=cfg.max_grad_norm, bf16=cfg.bf16),
                   device=device, log=log, accelerator=accelerator)
    return {**out, **stats}
