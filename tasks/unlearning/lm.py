"""LM helpers of the unlearning family (candidates to move into `bench.lm`):

- `token_logprobs`: per-token log-probabilities of the labelled tokens, computing the LM head only at those positions
  (transformers' boolean `logits_to_keep`): on these prompt-heavy QA sequences about half of the head's FLOPs (~20 % of
  a SmolLM2 step) are saved, and the result keeps the model's dtype (the embedded tiny models run in float64 so that
  results agree across CPUs; `bench.lm.token_nll` casts logits to float32);
- `encode` / `batches_of`: QA pairs -> padded batches with the prompt masked;
- `answer_stats`: mean per-token NLL and the token log-probs of each answer, batched under no_grad;
- `sft`: fine-tune on QA pairs through the family's one loop (`bench.lm.loop.optimize`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

IGNORE = -100


def set_threads(model: str) -> None:
    """The LM families' thread policy (bench.lm.set_torch_threads) for a task's `model` field ("tiny": the embedded
    tiny model)."""
    from bench.lm import set_torch_threads

    set_torch_threads(model == "tiny")


def max_len(tok) -> int:
    """Sequence cap: the tokenizer's `model_max_length` when the task set it, else 64 (the embedded tiny models)."""
    m = getattr(tok, "model_max_length", None)
    return int(m) if m and m <= 8192 else 64


def encode(tok, prompt: str, answer: str, max_length: int | None = None) -> dict:
    """Prompt tokens (masked) + answer tokens + EOS, truncated from the right; refuses a pair whose answer is cut off
    entirely (a batch that silently scores nothing would be a zero loss)."""
    from bench.lm import encode_sft

    n = max_length or max_len(tok)
    # truncation=True: this family cuts long pairs at the model's window on purpose (as MUSE does with its corpus
    # chunks), explicitly; bench.lm still raises when no answer token survives
    e = encode_sft(tok, prompt, answer, max_length=n, truncation=True)
    if not any(x != IGNORE for x in e["labels"]):
        raise ValueError(f"answer fully truncated at {n} tokens (prompt of {e['n_prompt']} tokens): {prompt[:60]!r}")
    return e


def collate(examples: Sequence[dict], pad_id: int) -> dict:
    from bench.lm import collate as _collate

    return _collate(examples, pad_id)


def token_logprobs(model, batch: dict):
    """(logp [B, T], mask [B, T]): log p(labels[t] | tokens < t) at labelled positions (0 elsewhere), aligned with
    `labels` as `bench.lm.token_nll`; logits are computed only where a label follows."""
    import torch

    ids, labels = batch["input_ids"], batch["labels"]
    tgt = labels[:, 1:]
    keep = torch.zeros_like(ids, dtype=torch.bool)
    keep[:, :-1] = tgt != IGNORE
    p = next(model.parameters(), None)
    dev = p.device if p is not None else ids.device
    out = model(input_ids=ids.to(dev), attention_mask=batch.get("attention_mask").to(dev), logits_to_keep=keep.to(dev))
    logits = out.logits
    if logits.dim() == 3:  # a model that ignored logits_to_keep: select the positions ourselves
        logits = logits[keep.to(dev)]
    lp = torch.log_softmax(logits, dim=-1).gather(-1, tgt[tgt != IGNORE].to(dev).unsqueeze(-1)).squeeze(-1)
    full = torch.zeros(ids.shape, dtype=lp.dtype, device=dev)
    mask = torch.zeros(ids.shape, dtype=torch.bool, device=dev)
    mask[:, 1:] = (tgt != IGNORE).to(dev)
    full[mask] = lp
    return full, mask


def mean_nll(model, batch: dict):
    """Mean NLL over all labelled tokens of the batch (a scalar, differentiable)."""
    lp, mask = token_logprobs(model, batch)
    return -lp.sum() / mask.sum().clamp_min(1)


def sequence_logprob(model, batch: dict):
    """Summed log-prob of each sequence's labelled tokens: [B]."""
    lp, _ = token_logprobs(model, batch)
    return lp.sum(1)


def answer_stats(model, tok, pairs: Sequence[tuple[str, str]], batch_size: int = 32,
                 max_length: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """For (prompt, answer) pairs: the mean per-token NLL of each answer and its token log-probs (float64 arrays)."""
    import torch

    means, lps = [], []
    was = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, len(pairs), batch_size):
            ex = [encode(tok, p, a, max_length) for p, a in pairs[s: s + batch_size]]
            lp, mask = token_logprobs(model, collate(ex, tok.pad_token_id))
            lp, mask = lp.double().cpu(), mask.cpu()
            means += list((-(lp.sum(1)) / mask.sum(1)).numpy())
            lps += [lp[i][mask[i]].numpy() for i in range(len(ex))]
    model.train(was)
    return np.asarray(means, dtype=float), lps


def sft(model, tok, pairs: Sequence[tuple[str, str]], steps: int, lr: float, seed: int, batch_size: int = 16,
        warmup_ratio: float = 0.05, max_length: int | None = None, device: str = "cpu") -> dict:
    """Fine-tune `model` in place on (prompt, answer) pairs with the shared loop: shuffled epochs of mini-batches."""
    from bench.lm.loop import LoopConfig, optimize

    rng = np.random.default_rng(seed)
    ex = [encode(tok, p, a, max_length) for p, a in pairs]
    order: list[int] = []

    def step(_: int):
        nonlocal order
        if len(order) < batch_size:
            order = order + list(rng.permutation(len(ex)))
        idx, order = order[:batch_size], order[batch_size:]
        b = collate([ex[i] for i in idx], tok.pad_token_id)
        return mean_nll(model, {k: v.to(device) for k, v in b.items()})

    return optimize(model, step, LoopConfig(steps=steps, lr=lr, warmup_ratio=warmup_ratio), device=device)


def frozen_copy(model) -> Any:
    import copy

    ref = copy.deepcopy(model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref
