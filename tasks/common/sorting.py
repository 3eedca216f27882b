"""The embedded preference environment: list sorting with a known ground-truth reward.

Prompt "sort 5 2 9 1 :", ideal response " 1 2 5 9". The hidden true reward of a response is the fraction of
positions that match the sorted list, over max(len(response), len(target)) — extra or missing numbers cost reward,
so length matters but longer is not better. Preference pairs: two corruptions of the ideal answer (adjacent swaps,
dropped, duplicated or replaced numbers); an annotator sees their rewards plus Gaussian noise (`annotator_noise`), so
small true margins are often flipped; the annotator's score difference is the pair's visible margin (as with
UltraFeedback scores). The judge of the final evaluation is the noiseless true reward — not the training signal.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def make_prompt(xs: list[int]) -> str:
    return "sort " + " ".join(map(str, xs)) + " :"


def ideal(xs: list[int]) -> str:
    return " " + " ".join(map(str, sorted(xs)))


def parse(resp: str) -> list[int]:
    out = []
    for tok in resp.split():
        if tok.isdigit():
            out.append(int(tok))
        else:
            break
    return out


def true_reward(xs: list[int], resp: str) -> float:
    target, got = sorted(xs), parse(resp)
    denom = max(len(target), len(got))
    return sum(a == b for a, b in zip(target, got)) / denom if denom else 0.0


def corrupt(xs: list[int], rng: np.random.Generator, n_ops: int) -> str:
    ys = sorted(xs)
    for _ in range(n_ops):
        op = rng.integers(4)
        i = int(rng.integers(len(ys)))
        if op == 0 and len(ys) > 1:
            j = min(i + 1, len(ys) - 1) if i + 1 < len(ys) else i - 1
            ys[i], ys[j] = ys[j], ys[i]
        elif op == 1 and len(ys) > 1:
            ys.pop(i)
        elif op == 2:
            ys.insert(i, ys[i])
        else:
            ys[i] = int(rng.integers(10))
    return " " + " ".join(map(str, ys))


def sample_lists(rng: np.random.Generator, n: int, min_len: int = 3, max_len: int = 6) -> list[list[int]]:
    return [list(rng.integers(0, 10, size=int(rng.integers(min_len, max_len + 1)))) for _ in range(n)]


@dataclass
class Pair:
    prompt: str
    chosen: str
    rejected: str
    margin: float  # annotator's score difference (visible)
    true_margin: float  # hidden: true reward(chosen) - true reward(rejected); < 0 means the label is flipped


def make_pairs(rng: np.random.Generator, lists: list[list[int]], annotator_noise: float) -> list[Pair]:
    pairs = []
    for xs in lists:
        a, b = corrupt(xs, rng, int(rng.integers(0, 3))), corrupt(xs, rng, int(rng.integers(1, 4)))
        if a == b:
            b = corrupt(xs, rng, 3)
        ra, rb = true_reward(xs, a), true_reward(xs, b)
        sa, sb = ra + rng.normal(0, annotator_noise), rb + rng.normal(0, annotator_noise)
        if sa >= sb:
            pairs.append(Pair(make_prompt(xs), a, b, float(sa - sb), ra - rb))
        else:
            pairs.append(Pair(make_prompt(xs), b, a, float(sb - sa), rb - ra))
    return pairs


def corpus_tokenizer():
    """A deterministic byte-level BPE trained on the environment's alphabet (tiny vocab for a tiny model)."""
    from bench.lm import bpe_tokenizer

    text = ["sort " + " ".join(str(d) for d in range(10)) + " :"] * 4 + [" " + " ".join(map(str, range(10)))] * 4
    return bpe_tokenizer(text, vocab_size=300)


def sft_base(tok, rng: np.random.Generator, n_demos: int, demo_error: float, cache_dir: Path, seed: int,
             steps: int = 200):
    """The SFT policy every method starts from (and the reference/baseline model): a tiny Llama trained on noisy
    demonstrations (each demo is a corruption of the ideal answer with probability `demo_error`). Cached by content."""
    import torch

    from bench.lm import TrainConfig, encode_sft, tiny_causal_lm, train_sft

    lists = sample_lists(rng, n_demos)
    demos = [(make_prompt(xs), corrupt(xs, rng, int(rng.integers(1, 3))) if rng.random() < demo_error else ideal(xs))
             for xs in lists]
    key = hashlib.sha256(repr((demos, steps, seed, len(tok))).encode()).hexdigest()[:16]
    path = Path(cache_dir) / "preference" / f"sft-{key}.pt"
    model = tiny_causal_lm(len(tok), hidden=64, layers=2, heads=4, max_positions=64, seed=seed,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        model.eval()
        return model
    ex = [encode_sft(tok, p, r, max_length=48) for p, r in demos]
    train_sft(model, ex, tok.pad_token_id, TrainConfig(lr=3e-3, batch_size=32, max_steps=steps),
              np.random.default_rng(seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)
    return model
