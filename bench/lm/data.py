"""SFT example encoding and batching.

No silent truncation: a sequence longer than the limit raises `SequenceTooLong` naming the example, unless the caller
opts in to right truncation (`truncation=True`), and even then an example whose response loses every token raises
(its loss would silently be zero). Sequence limits come from the tokenizer / model (`sequence_limit`), not from a
hand-written cap.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

IGNORE = -100
_UNSET = 10**8  # tokenizers without a limit report a huge model_max_length (1e30)


class SequenceTooLong(ValueError):
    """An SFT example does not fit the model's sequence limit (the message names the example)."""


def sequence_limit(tokenizer=None, model=None) -> int | None:
    """The longest sequence the tokenizer and the model accept: min of the tokenizer's `model_max_length` (when set)
    and the model config's `max_position_embeddings` / `n_positions`. None when neither declares one."""
    limits = []
    m = getattr(tokenizer, "model_max_length", None)
    if isinstance(m, int) and 0 < m < _UNSET:
        limits.append(m)
    cfg = getattr(model, "config", None)
    for key in ("max_position_embeddings", "n_positions"):
        v = getattr(cfg, key, None)
        if isinstance(v, int) and v > 0:
            limits.append(v)
            break
    return min(limits) if limits else None


def encode_sft(tokenizer, prompt: str, response: str, max_length: int | None = None, add_eos: bool = True,
               truncation: bool = False, name: str | int | None = None) -> dict:
    """Token ids of prompt+response with labels = -100 on prompt tokens.

    The prompt is tokenised on its own so the boundary is exact; response ids follow it; EOS closes the response.
    `max_length` (default: `sequence_limit(tokenizer)`) bounds prompt + response. A longer pair raises
    `SequenceTooLong` naming the example (`name`, else the start of the prompt); with `truncation=True` it is cut from
    the right instead, and still raises when no response token survives. The result carries `n_truncated`, the
    number of response tokens cut off.
    """
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    if add_eos and tokenizer.eos_token_id is not None:
        r_ids = r_ids + [tokenizer.eos_token_id]
    limit = max_length if max_length is not None else sequence_limit(tokenizer)
    ids = p_ids + r_ids
    labels = [IGNORE] * len(p_ids) + r_ids
    cut = 0
    if limit is not None and len(ids) > limit:
        who = f"example {name!r}" if name is not None else f"example with prompt {prompt[:60]!r}"
        kept = max(0, limit - len(p_ids))
        if not truncation:
            raise SequenceTooLong(f"{who}: prompt ({len(p_ids)} tokens) + response ({len(r_ids)} tokens) exceed the "
                                  f"sequence limit {limit}; raise the limit or pass truncation=True to cut "
                                  f"{len(r_ids) - kept} response tokens")
        if kept == 0:
            raise SequenceTooLong(f"{who}: the prompt alone ({len(p_ids)} tokens) fills the sequence limit {limit}, so "
                                  "no response token would be trained on")
        cut = len(ids) - limit
        ids, labels = ids[:limit], labels[:limit]
    return {"input_ids": ids, "labels": labels, "n_prompt": len(p_ids) if limit is None else min(len(p_ids), limit),
            "n_truncated": cut}


def collate(examples: Sequence[dict], pad_id: int, weights: Sequence[Sequence[float]] | None = None) -> dict:
    """Right-pad a list of encoded examples into tensors; optional per-token weights (aligned with labels)."""
    import torch

    T = max(len(e["input_ids"]) for e in examples)
    B = len(examples)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    labels = torch.full((B, T), IGNORE, dtype=torch.long)
    attn = torch.zeros((B, T), dtype=torch.long)
    w = torch.zeros((B, T), dtype=torch.float32) if weights is not None else None
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        labels[i, :n] = torch.tensor(e["labels"])
        attn[i, :n] = 1
        if w is not None:
            wi = torch.as_tensor(np.asarray(weights[i], dtype=np.float32))
            if wi.shape[0] != n:
                raise ValueError(f"token weights of example {i} have length {wi.shape[0]}, expected {n}")
            w[i, :n] = wi
    out = {"input_ids": ids, "labels": labels, "attention_mask": attn}
    if w is not None:
        out["token_weights"] = w
    return out


def iter_batches(n: int, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[np.ndarray]:
    idx = rng.permutation(n) if rng is not None else np.arange(n)
    for s in range(0, n, batch_size):
        yield idx[s: s + batch_size]


def lengths(examples: Iterable[dict]) -> list[int]:
    return [len(e["input_ids"]) for e in examples]
