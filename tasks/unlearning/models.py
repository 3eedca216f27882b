"""Target and retain-reference models: fine-tuned copies of a base model (default: a fresh tiny Llama in float64),
cached by a content hash of the training pairs and the recipe."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

from . import lm
from .data import Benchmark

PROMPT = "Q: {q}\nA:"
TINY = dict(hidden=96, layers=2, heads=4, max_positions=128)


def corpus(b: Benchmark) -> list[str]:
    out = []
    for qa in b.forget + b.retain_train + b.retain_val + b.retain + b.holdout + b.world + b.real_authors:
        out += [PROMPT.format(q=qa.question), qa.answer, qa.paraphrase, *qa.perturbed]
    return out + b.idk


def tokenizer_for(b: Benchmark):
    from bench.lm import bpe_tokenizer

    return bpe_tokenizer(corpus(b), vocab_size=600)


def tiny_model(tok, seed: int):
    """The embedded default's base: a randomly initialised tiny Llama in float64 (training and evaluation in double
    precision keep the results the same across CPUs, whose float32 kernels round differently)."""
    from bench.lm import tiny_causal_lm

    m = tiny_causal_lm(len(tok), seed=seed, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TINY)
    return m.double()


def finetune(tok, pairs: Sequence[tuple[str, str]], cache_dir: Path, seed: int, epochs: float, tag: str,
             base=None, base_key: str = "", lr: float = 3e-3, batch_size: int = 16, spec=None):
    """Fine-tune a copy of `base` (default: a fresh tiny model for `tok`) on (prompt, answer) pairs for `epochs`
    epochs; cached under `cache_dir/unlearning/` by a hash of the encoded pairs and the recipe. With a LoRA `spec`
    (a `bench.lm.ModelSpec`) the adapters are trained and merged back into the weights (the target is a plain model)."""
    import copy
    import math

    import torch

    from bench.lm import prepare_for_finetuning

    ex = [lm.encode(tok, p, a) for p, a in pairs]
    steps = max(1, math.ceil(epochs * len(ex) / batch_size))
    recipe = (steps, seed, len(tok), lr, batch_size, "v3", base_key, repr(spec))
    key = hashlib.sha256(repr(([e["input_ids"] for e in ex], recipe)).encode()).hexdigest()[:16]
    path = Path(cache_dir) / "unlearning" / f"{tag}-{key}.pt"
    model = copy.deepcopy(base) if base is not None else tiny_model(tok, seed)
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    torch.manual_seed(seed)
    train = prepare_for_finetuning(model, spec) if spec is not None else model
    lm.sft(train, tok, pairs, steps, lr, seed, batch_size=batch_size)
    if train is not model:
        model = train.merge_and_unload()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)
    return model.eval()
