"""Target and retain-reference models for the embedded default, built by fine-tuning a tiny Llama and cached by a
content hash of the training data and recipe (`python -m tasks.unlearning.models` builds them ahead of time)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .data import Benchmark

PROMPT = "Q: {q}\nA:"


def corpus(b: Benchmark) -> list[str]:
    out = []
    for qa in b.forget + b.retain + b.holdout + b.world:
        out += [PROMPT.format(q=qa.question), qa.answer, qa.paraphrase, *qa.perturbed]
    return out + b.idk


def tokenizer_for(b: Benchmark):
    from bench.lm import bpe_tokenizer

    return bpe_tokenizer(corpus(b), vocab_size=600)


def max_len(tok) -> int:
    """Sequence cap for this track: the tokenizer's `model_max_length` when a loader set it (hub runs, see
    `task.max_length`), else 64 (the embedded default's tiny models)."""
    m = getattr(tok, "model_max_length", None)
    return int(m) if m and m <= 8192 else 64


def encode(tok, qas, which: str = "answer", prompt: str = PROMPT):
    from bench.lm import encode_sft

    n = max_len(tok)
    return [encode_sft(tok, prompt.format(q=qa.question), " " + getattr(qa, which), max_length=n) for qa in qas]


def finetune(tok, qas, cache_dir: Path, seed: int, steps: int, tag: str, prompt: str = PROMPT, base=None,
             base_key: str = "", lr: float = 3e-3):
    """Fine-tune a copy of `base` (default: a fresh tiny Llama for `tok`) on `qas`; cached by content hash
    (examples, steps, seed, tokenizer size, `base_key` naming the base model)."""
    import copy

    import torch

    from bench.lm import TrainConfig, tiny_causal_lm, train_sft

    torch.set_num_threads(2)
    ex = encode(tok, qas, prompt=prompt)
    key = hashlib.sha256(repr(([e["input_ids"] for e in ex], steps, seed, len(tok), "v1")
                              + ((base_key, lr) if base is not None else ())).encode()).hexdigest()[:16]
    path = Path(cache_dir) / "unlearning" / f"{tag}-{key}.pt"
    if base is not None:
        model = copy.deepcopy(base)
    else:
        model = tiny_causal_lm(len(tok), hidden=96, layers=2, heads=4, max_positions=64, seed=seed,
                               eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    train_sft(model, ex, tok.pad_token_id, TrainConfig(lr=lr, batch_size=16, max_steps=steps, warmup_ratio=0.05),
              np.random.default_rng(seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)
    return model.eval()
