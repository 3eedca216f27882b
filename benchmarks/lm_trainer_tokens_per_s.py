"""Training throughput of bench.lm.train_sft (per-token weights, prompt masks) vs a plain transformers loop
(`model(input_ids, labels=...).loss.backward()`, same model, data, batch size and optimiser). Prints tokens/s of both
and the ratio.

    python benchmarks/lm_trainer_tokens_per_s.py [--steps 60] [--hidden 128] [--layers 4]"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lm import TrainConfig, collate, encode_sft, tiny_causal_lm, train_sft  # noqa: E402
from tasks.common import sorting as toy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(2)
    tok = toy.corpus_tokenizer()
    rng = np.random.default_rng(0)
    lists = toy.sample_lists(rng, a.steps * a.batch, 6, 12)
    ex = [encode_sft(tok, toy.make_prompt(xs), toy.ideal(xs), max_length=64) for xs in lists]
    model = tiny_causal_lm(len(tok), hidden=a.hidden, layers=a.layers, heads=4, max_positions=64, seed=0,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    n_tok = sum(sum(l != -100 for l in e["labels"]) for e in ex)

    m1 = copy.deepcopy(model)
    t = time.perf_counter()
    train_sft(m1, ex, tok.pad_token_id, TrainConfig(lr=1e-3, batch_size=a.batch, max_steps=a.steps, max_grad_norm=0),
              np.random.default_rng(0))
    t_ours = time.perf_counter() - t

    m2 = copy.deepcopy(model)
    opt = torch.optim.AdamW(m2.parameters(), lr=1e-3)
    m2.train()
    t = time.perf_counter()
    for s in range(a.steps):
        b = collate(ex[s * a.batch:(s + 1) * a.batch], tok.pad_token_id)
        loss = m2(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"]).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    t_plain = time.perf_counter() - t
    params = sum(p.numel() for p in model.parameters())
    print(f"model {params / 1e6:.2f}M params, {a.steps} steps x {a.batch} examples, {n_tok} response tokens")
    print(f"bench.lm.train_sft : {n_tok / t_ours:10.0f} tokens/s ({t_ours:.2f} s)")
    print(f"plain HF loop      : {n_tok / t_plain:10.0f} tokens/s ({t_plain:.2f} s)")
    print(f"ratio ours/plain = {t_plain / t_ours:.2f}x")


if __name__ == "__main__":
    main()
