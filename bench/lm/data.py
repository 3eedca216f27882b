"""SFT example encoding and batching."""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

IGNORE = -100


def encode_sft(tokenizer, prompt: str, response: str, max_length: int = 256, add_eos: bool = True) -> dict:
    """Token ids of prompt+response with labels = -100 on prompt tokens (and truncation from the right).

    The prompt is tokenised on its own so the boundary is exact; response ids follow it; EOS closes the response.
    """
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    if add_eos and tokenizer.eos_token_id is not None:
        r_ids = r_ids + [tokenizer.eos_token_id]
    ids = (p_ids + r_ids)[:max_length]
    labels = ([IGNORE] * len(p_ids) + r_ids)[:max_length]
    return {"input_ids": ids, "labels": labels, "n_prompt": min(len(p_ids), max_length)}


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
