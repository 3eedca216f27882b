"""What the unlearning methods share: their config, batch drawing from the view, and `run`, which plugs a method's
loss into the LM families' one training loop (`bench.lm.loop.optimize`) and reports every optimizer step to the
task's tuning protocol (`UnlearnView.report`)."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.config import StrictConfig
from bench.lm.loop import LoopConfig, optimize
from tasks.unlearning import lm


class UnlearnConfig(StrictConfig):
    steps: int = Field(20, ge=1)  # optimizer steps (the task's tuning grid sets it)
    lr: float = Field(3e-4, gt=0)  # constant learning rate of AdamW (the task's tuning grid sets it)
    batch_size: int = Field(8, ge=1)
    weight_decay: float = Field(0.01, ge=0)  # TOFU / open-unlearning use 0.01


def _encode(view, prompt: str, answer: str) -> dict:
    return lm.encode(view.tokenizer, prompt, answer, view.max_length)


def _batch(view, examples: list[dict]) -> dict:
    dev = next(view.model.parameters()).device
    return {k: v.to(dev) for k, v in lm.collate(examples, view.tokenizer.pad_token_id).items()}


def draw(rng: np.random.Generator, n: int, bs: int) -> np.ndarray:
    return rng.choice(n, size=min(bs, n), replace=False)


def forget_batch(view, rng, bs: int, idx=None) -> dict:
    idx = draw(rng, len(view.forget), bs) if idx is None else idx
    return _batch(view, [_encode(view, view.prompt.format(q=view.forget[i].question), " " + view.forget[i].answer)
                         for i in idx])


def retain_batch(view, rng, bs: int) -> dict:
    if view.retain_data is None:
        raise RuntimeError("this method needs the `retain_data` privilege (register it with privileges={'retain_data'})")
    qas = [view.retain_data[i] for i in draw(rng, len(view.retain_data), bs)]
    return _batch(view, [_encode(view, view.prompt.format(q=q.question), " " + q.answer) for q in qas])


def forget_and_template(view, rng, bs: int) -> tuple[dict, dict]:
    """The same forget prompts twice: with their forget answers, and with a template answer drawn at random for each
    example (as FLAT's and TOFU's data modules draw an "I don't know" answer per item)."""
    idx = draw(rng, len(view.forget), bs)
    qs = [view.prompt.format(q=view.forget[i].question) for i in idx]
    bad = [_encode(view, q, " " + view.forget[i].answer) for q, i in zip(qs, idx)]
    good = [_encode(view, q, " " + view.templates[int(rng.integers(len(view.templates)))]) for q in qs]
    return _batch(view, bad), _batch(view, good)


def run(view, cfg: UnlearnConfig, rng: np.random.Generator, loss_fn, ctx=None, log_key: str = "unlearn/loss"):
    """Train `view.model` in place for `cfg.steps` steps of `loss_fn(model, rng)`; report each step to the tuning
    protocol; return the model (eval mode)."""
    model = view.model

    def log(metrics: dict, step: int) -> None:
        if ctx is not None:
            ctx.log(metrics, step)
        view.report(step + 1, model)

    optimize(model, lambda _: loss_fn(model, rng), LoopConfig(steps=cfg.steps, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                                               max_grad_norm=1.0),
             device=str(next(model.parameters()).device), log=log, log_key=log_key)
    return model.eval()


class Reference:
    """The frozen target model for methods with a reference term (KL, NPO, IdkPO): the LoRA adapters switched off
    when the trainable copy is a peft model (no second copy of the weights), else a frozen deep copy."""

    def __init__(self, model):
        self.peft = callable(getattr(model, "disable_adapter", None))
        self.model = model if self.peft else lm.frozen_copy(model)

    def __call__(self, fn):
        import torch

        with torch.no_grad():
            if self.peft:
                with self.model.disable_adapter():
                    return fn(self.model)
            return fn(self.model)
