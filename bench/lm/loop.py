"""The one optimisation loop of the LM families (SFT selection, preference, unlearning).

Each family plugs in a `loss_step(step) -> scalar tensor` closure (weighted token NLL for SFT, a pair loss with
routing for preference, a forget/retain objective for unlearning); the loop owns the optimiser (AdamW over the
trainable parameters only, so LoRA adapters or a frozen bottom work unchanged), warm-up, gradient accumulation,
clipping, bf16 autocast on CUDA, logging, and `accelerate` when given an Accelerator (multi-GPU via `accelerate
launch`). A loss that is not finite stops training with an error naming the step, never a silent NaN model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass
class LoopConfig:
    steps: int
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    grad_accum: int = 1
    max_grad_norm: float | None = 1.0
    bf16: bool = True  # only used on CUDA


class NonFiniteLoss(RuntimeError):
    pass


def trainable_parameters(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


def optimize(model, loss_step: Callable[[int], "object"], cfg: LoopConfig, device: str = "cpu",
             log: Callable[[dict, int], None] | None = None, log_key: str = "train/loss", accelerator=None) -> dict:
    """Run `cfg.steps` optimiser steps in place. `loss_step(micro_step)` returns the loss of one micro-batch (it
    draws its own batch). Returns {'steps', 'losses'}; the model is left in eval mode."""
    import torch

    if cfg.steps < 1:
        raise ValueError(f"steps must be >= 1, got {cfg.steps}")
    params = trainable_parameters(model)
    if not params:
        raise ValueError("the model has no trainable parameters")
    model.train()
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = int(cfg.warmup_ratio * cfg.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, warm)) if warm else 1.0)
    if accelerator is not None:
        model, opt, sched = accelerator.prepare(model, opt, sched)
    use_amp = str(device).startswith("cuda") and cfg.bf16
    losses: list[float] = []
    micro = 0
    opt.zero_grad(set_to_none=True)
    for step in range(cfg.steps):
        total = 0.0
        for _ in range(cfg.grad_accum):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                loss = loss_step(micro)
            micro += 1
            if not torch.isfinite(loss.detach()).all():
                raise NonFiniteLoss(f"loss is {float(loss.detach())} at step {step} (micro-batch {micro - 1})")
            scaled = loss / cfg.grad_accum
            accelerator.backward(scaled) if accelerator is not None else scaled.backward()
            total += float(loss.detach()) / cfg.grad_accum
        if cfg.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(total)
        if log:
            log({log_key: total}, step)
    model.eval()
    return {"steps": cfg.steps, "losses": losses, "final_loss": losses[-1] if losses else math.nan}
