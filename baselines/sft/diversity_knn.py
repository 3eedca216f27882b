"""Embedding diversity: embed each sample (mean last hidden state of the reference model over its tokens) and pick a
`budget` fraction by greedy k-center (farthest-point) selection, so the kept set covers the embedding space
(as in Sener & Savarese 2018; DS2-style diversity filters)."""
from __future__ import annotations

import numpy as np
import torch

from bench.api import register_method
from bench.lm import collate
from tasks.sft.tasks import Selection

from ._common import BudgetConfig, train_reference


@torch.no_grad()
def embed(model, examples, pad_id, batch_size=64) -> np.ndarray:
    out = []
    for s in range(0, len(examples), batch_size):
        b = collate(examples[s: s + batch_size], pad_id)
        h = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], output_hidden_states=True).hidden_states[-1]
        m = b["attention_mask"].unsqueeze(-1).float()
        out.append(((h * m).sum(1) / m.sum(1)).numpy())
    return np.concatenate(out)


def k_center(E: np.ndarray, k: int, first: int) -> np.ndarray:
    chosen = [first]
    d = np.linalg.norm(E - E[first], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(d, np.linalg.norm(E - E[nxt], axis=1))
    return np.array(chosen)


@register_method("diversity_knn", family="sft.sample_selection", config=BudgetConfig, kind="baseline")
def diversity_knn(data, cfg: BudgetConfig, ctx):
    """Greedy k-center on reference-model embeddings."""
    pad = data.tokenizer.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, ctx.rng)
    E = embed(ref, data.examples, pad)
    n = len(E)
    k = max(1, int(round(cfg.budget * n)))
    w = np.zeros(n, dtype=np.float32)
    w[k_center(E, k, int(ctx.rng.integers(n)))] = 1
    return Selection(sample_weights=w)
