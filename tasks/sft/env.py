"""The embedded SFT environment (offline): sorting instructions with real token-level and sample-level noise.

Each training response is the sorted list, except that
- with probability `filler_prob` filler words (" um", " well", " ok", " so") are inserted between numbers: tokens that
  carry no task information (what token cleaning should drop);
- with probability `bad_prob` the answer itself is corrupted (a low-quality sample: what sample selection should drop).
A clean "seed" set (`n_seed` ideal answers) is what the reference model is trained on (the paper's high-quality
reference data). Evaluation prompts are held out; the downstream metrics are the greedy exact match of the ideal
answer and its mean per-token log-likelihood under the trained model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tasks.common import sorting as toy

FILLERS = (" um", " well", " ok", " so")


def noisy_response(xs: list[int], rng: np.random.Generator, filler_prob: float, bad_prob: float) -> tuple[str, bool, bool]:
    bad = rng.random() < bad_prob
    nums = toy.parse(toy.corrupt(xs, rng, int(rng.integers(1, 3)))) if bad else sorted(xs)
    filler = rng.random() < filler_prob
    parts = []
    for v in nums:
        if filler and rng.random() < 0.5:
            parts.append(FILLERS[int(rng.integers(len(FILLERS)))])
        parts.append(f" {v}")
    return "".join(parts), bad, filler


@dataclass
class SFTData:
    """Everything a task holds for one seed; methods get an `SFTView` of it (tasks/sft/contract.py) without the hidden
    fields (noise labels, evaluation data)."""

    tokenizer: Any
    base: Any  # the model before SFT (copies are trained)
    examples: list[dict]  # encode_sft outputs of the training pool
    texts: list[tuple[str, str]]  # (prompt, response)
    seed_examples: list[dict]  # clean reference data
    is_bad: np.ndarray = field(repr=False, default=None)  # hidden: low-quality sample
    has_filler: np.ndarray = field(repr=False, default=None)  # hidden
    eval_lists: list[list[int]] = field(repr=False, default_factory=list)  # sorting task: held-out lists
    eval_pairs: list[tuple[str, str]] = field(repr=False, default_factory=list)  # other pools: held-out (prompt, gold)
    max_length: int | None = 64  # the sequence limit the pool was encoded with (from the tokenizer / model)
    response_tokens: int = 16  # generation budget for a response (methods that rewrite responses)
    is_ideal: Callable[[int, str], bool] | None = field(repr=False, default=None)  # hidden: is a response ideal?
    seed_texts: list[tuple[str, str]] = field(default_factory=list)
    spec: Any = None  # bench.lm.ModelSpec of the fine-tuning (None: full fine-tuning of every weight)
    trunk: Any = None  # bench.lm.FrozenTrunk of `base` when only its top layers train
    judge: Any = None  # (model, tokenizer) a method may prompt (a pretrained LM), or None
    extra: dict = field(repr=False, default_factory=dict)  # hidden: task-specific evaluation material
    budget: Any = None  # contract.TrainBudget: how the harness trains on a selection

    def fingerprint(self) -> dict:
        return {"texts": self.texts, "seed": [e["input_ids"] for e in self.seed_examples], "eval": self.eval_lists,
                "eval_pairs": self.eval_pairs}


def build(rng: np.random.Generator, n_train: int, n_seed: int, n_eval: int, filler_prob: float, bad_prob: float,
          model_seed: int) -> SFTData:
    from bench.lm import encode_sft, sequence_limit, tiny_causal_lm

    tok = toy.corpus_tokenizer()
    lists = toy.sample_lists(rng, n_train)
    texts, bad, fill = [], [], []
    for xs in lists:
        r, b, f = noisy_response(xs, rng, filler_prob, bad_prob)
        texts.append((toy.make_prompt(xs), r))
        bad.append(b)
        fill.append(f)
    seed_lists = toy.sample_lists(rng, n_seed)
    seed_texts = [(toy.make_prompt(xs), toy.ideal(xs)) for xs in seed_lists]
    base = tiny_causal_lm(len(tok), hidden=64, layers=2, heads=4, max_positions=64, seed=model_seed,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    limit = sequence_limit(tok, base)
    seed = [encode_sft(tok, p, r, max_length=limit, name=f"seed {i}") for i, (p, r) in enumerate(seed_texts)]
    ex = [encode_sft(tok, p, r, max_length=limit, name=i) for i, (p, r) in enumerate(texts)]

    def is_ideal(i: int, response: str) -> bool:
        return response.split() == toy.ideal(lists[i]).split()

    return SFTData(tok, base, ex, texts, seed, np.array(bad), np.array(fill), toy.sample_lists(rng, n_eval),
                   max_length=limit, is_ideal=is_ideal, seed_texts=seed_texts)
