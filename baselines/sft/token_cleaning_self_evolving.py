"""Token cleaning with a self-evolving reference (Pang et al., 2025; UCSC-REAL/TokenCleaning
`self_evolving_cleaning.sh` + `scripts/generate_token_label.py --reverse_loss True`), as a chain of the model being
trained:
- the pool is split into `chunks` subsets that the harness trains on in sequence (`Selection.order`);
- subset 0 is a warm-up: every response token is trained on (model M_0 after it);
- before subset k >= 1 is trained, its tokens are scored with the two latest models of the chain,
      infl(t) = loss_{M_{k-2}}(t) - loss_{M_{k-1}}(t)   (M_{-1} = the base model),
  and the top `keep_ratio` of the subset's response tokens (one threshold over the subset) are kept;
- training continues from M_{k-1} on the cleaned subset, giving M_k.
This runs inside the harness's training as a per-batch plug-in (`Selection.token_weight_fn`): it snapshots the
trainable weights when each subset starts and scores a new subset with a copy of the current model and of the
previous snapshot (no gradient; the model being trained is never touched). Differences from the repository: one optimiser and learning-rate schedule
over the whole chain (the repository restarts fine-tuning, LoRA-merged, per subset), and when the harness's step
budget exceeds one pass the chain's weights are reused on later passes."""
from __future__ import annotations

import copy

import numpy as np
import torch

from bench.api import register_method
from bench.config import StrictConfig
from bench.lm import collate, token_nll_fast
from tasks.sft.contract import Selection

from ._common import global_top, labelled, pad_to


class Config(StrictConfig):
    keep_ratio: float = 0.6
    chunks: int = 5


def _trainable(model) -> dict:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


@torch.no_grad()
def _snapshot(model) -> dict:
    return {n: p.detach().clone() for n, p in _trainable(model).items()}


@torch.no_grad()
def _load(model, state: dict) -> None:
    params = _trainable(model)
    for n, v in state.items():
        params[n].copy_(v)


@torch.no_grad()
def _losses(model, examples, pad_id, trunk, batch_size=16) -> list[np.ndarray]:
    out = []
    for s in range(0, len(examples), batch_size):
        chunk = examples[s: s + batch_size]
        nll, _ = token_nll_fast(model, collate(chunk, pad_id), trunk)
        out += [nll[i, : len(e["input_ids"])].cpu().numpy() for i, e in enumerate(chunk)]
    return out


@register_method("token_cleaning_self_evolving", family="sft.token_selection", config=Config,
                 paper="Pang et al., 2025 (self-evolving ref)")
def token_cleaning_self_evolving(data, cfg: Config, ctx):
    """Self-evolving chain: each subset is cleaned by the two latest models of the training chain."""
    n = len(data.examples)
    chunks = [c for c in np.array_split(ctx.rng.permutation(n), min(cfg.chunks, n)) if len(c)]
    chunk_of = np.empty(n, dtype=np.int64)
    for k, c in enumerate(chunks):
        chunk_of[c] = k
    entered: dict[int, dict] = {}  # trainable weights when training first reached subset k (= M_{k-1})
    weights: dict[int, np.ndarray] = {}
    kept: list[float] = []

    def fn(view):
        model = view.model
        for k in sorted(set(chunk_of[view.indices].tolist())):
            if k in entered:
                continue
            if k == 0:
                entered[0] = _snapshot(model)  # the base (adapters at their init / untouched weights)
                continue
            prev = max(entered)  # the latest subset already entered: its snapshot is M_{k-2}
            cur = _snapshot(model)  # M_{k-1}
            ex = [data.examples[i] for i in chunks[k]]
            shadow = copy.deepcopy(model).eval()
            loss_cur = _losses(shadow, ex, data.pad_id, view.trunk)
            _load(shadow, entered[prev])
            loss_old = _losses(shadow, ex, data.pad_id, view.trunk)
            del shadow
            infl = [o - c for o, c in zip(loss_old, loss_cur)]
            w = global_top(infl, [labelled(e) for e in ex], cfg.keep_ratio)
            for i, wi in zip(chunks[k], w):
                weights[int(i)] = wi
            kept.append(float(np.mean([wi[labelled(e)].mean() for wi, e in zip(w, ex) if labelled(e).any()])))
            entered[k] = cur
        T = view.nll.shape[1]
        rows = [weights.get(int(i), np.ones(len(data.examples[int(i)]["input_ids"]), np.float32))
                for i in view.indices]
        return pad_to(rows, T)

    ctx.add_artifact("chunks", len(chunks))
    return Selection(order=np.concatenate(chunks).astype(np.int64), token_weight_fn=fn)
