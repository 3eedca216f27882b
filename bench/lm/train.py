"""A small SFT trainer: per-token loss weights/masks, gradient accumulation, bf16 autocast on GPU.

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
    """Train in place. Returns {'steps', 'tokens', 'final_loss', 'losses'}."""
    import torch

    model.to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(examples)
    per_epoch = math.ceil(n / (cfg.batch_size * cfg.grad_accum))
    total = cfg.max_steps or max(1, int(math.ceil(per_epoch * cfg.epochs)))
    warm = int(cfg.warmup_ratio * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, warm)) if warm else 1.0)
    if accelerator is not None:
        model, opt, sched = accelerator.prepare(model, opt, sched)
    use_amp = device.startswith("cuda") and cfg.bf16
    step, tokens, losses = 0, 0, []
    micro = 0
    opt.zero_grad(set_to_none=True)
    while step < total:
        for idx in iter_batches(n, cfg.batch_size, rng):
            ex = [examples[i] for i in idx]
            w = [token_weights[i] for i in idx] if token_weights is not None else None
            batch = {k: v.to(device) for k, v in collate(ex, pad_id, w).items()}
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                nll, mask = token_nll(model, batch)
            wt = mask.float() * (batch["token_weights"] if "token_weights" in batch else 1.0)
            denom = wt.sum()
            loss = (nll * wt).sum() / denom.clamp_min(1e-8)
            (accelerator.backward(loss / cfg.grad_accum) if accelerator is not None else (loss / cfg.grad_accum).backward())
            tokens += int((wt > 0).sum())
            micro += 1
            if micro % cfg.grad_accum == 0:
                if cfg.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                step += 1
                losses.append(float(loss.detach()))
                if log:
                    log({"train/loss": losses[-1]}, step)
                if step >= total:
                    break
    model.eval()
    return {"steps": step, "tokens": tokens, "final_loss": losses[-1] if losses else float("nan"), "losses": losses}
