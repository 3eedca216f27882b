"""The unlearning loop shared by the methods: `steps` AdamW steps over mini-batches of forget (and, for methods that
use it, retain) examples; the method supplies loss(model, forget_batch, retain_batch, ref_model)."""
from __future__ import annotations

import copy

import numpy as np
import torch

from bench.config import StrictConfig
from bench.lm import collate
from bench.lm.loop import LoopConfig, optimize
from tasks.unlearning.models import PROMPT, max_len


class UnlearnConfig(StrictConfig):
    steps: int = 20
    lr: float = 3e-4
    batch_size: int = 8


def batches(tok, qas, answers, rng, bs, prompt: str = PROMPT):
    from bench.lm import encode_sft

    idx = rng.choice(len(qas), size=min(bs, len(qas)), replace=False)
    ex = [encode_sft(tok, prompt.format(q=qas[i].question), " " + answers(i), max_length=max_len(tok)) for i in idx]
    return collate(ex, tok.pad_token_id), idx


def run(data, cfg: UnlearnConfig, rng: np.random.Generator, loss_fn, needs_ref: bool = False, log=None):
    torch.set_num_threads(2)
    model, tok = data.model, data.tokenizer
    ref = copy.deepcopy(model).eval() if needs_ref else None
    optimize(model, lambda step: loss_fn(model, tok, rng, ref), LoopConfig(steps=cfg.steps, lr=cfg.lr, max_grad_norm=1.0),
             log=log, log_key="unlearn/loss")
    return model.eval()


def forget_batch(data, rng, bs):
    return batches(data.tokenizer, data.forget, lambda i: data.forget[i].answer, rng, bs, data.prompt)[0]


def retain_batch(data, rng, bs):
    return batches(data.tokenizer, data.retain, lambda i: data.retain[i].answer, rng, bs, data.prompt)[0]


def paired_forget_idk(data, rng, bs):
    """The same forget questions twice: with their forget answers, and with random 'I don't know' templates."""
    from bench.lm import encode_sft

    tok = data.tokenizer
    idx = rng.choice(len(data.forget), size=min(bs, len(data.forget)), replace=False)
    qs = [data.prompt.format(q=data.forget[i].question) for i in idx]
    bad = [encode_sft(tok, q, " " + data.forget[i].answer, max_length=max_len(tok)) for q, i in zip(qs, idx)]
    good = [encode_sft(tok, q, " " + data.idk[int(rng.integers(len(data.idk)))], max_length=max_len(tok)) for q in qs]
    return collate(bad, tok.pad_token_id), collate(good, tok.pad_token_id)
