"""Shared pieces of the SFT selection methods: the reference model, per-token losses, embeddings, top-k helpers.

The reference model (the base fine-tuned on the clean seed set, the same way the harness fine-tunes: full, or LoRA
on the spec's top layers) and the per-token losses of the base and of the reference over the pool depend only on
the seed's data and the reference settings, not on the method: they are computed once and cached by content
(`bench.lm.cache`), so every method of a seed that asks for them gets the same numbers at no extra cost.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from bench.config import StrictConfig
from bench.lm import TrainConfig, collate, model_fingerprint, prepare_for_finetuning, train_sft
from bench.lm.cache import cached_arrays, cached_state, content_key
from bench.lm.trunk import _core, _run_layers, token_nll_fast


class RefConfig(StrictConfig):
    """The reference model: the base fine-tuned on the seed set for `ref_epochs` passes at `ref_lr` with batches of
    `ref_batch_size`; None = the task's defaults (its `budget`: the harness's learning rate and batch size, and the
    task's reference epochs -- many for a tiny model trained from scratch, few for a pretrained one)."""

    ref_epochs: float | None = None
    ref_lr: float | None = None
    ref_batch_size: int | None = None


def ref_plan(data, cfg: RefConfig) -> tuple[int, float, int]:
    """(steps, lr, batch size) of the reference training."""
    b = data.budget
    bs = cfg.ref_batch_size or b.batch_size
    epochs = cfg.ref_epochs if cfg.ref_epochs is not None else b.ref_epochs
    steps = max(1, int(np.ceil(epochs * len(data.seed_examples) / bs)))
    return steps, cfg.ref_lr if cfg.ref_lr is not None else b.lr, bs


def base_key(data) -> str:
    """Content key of the view's base model (the trunk's key already carries the base fingerprint)."""
    k = getattr(data, "_base_key", None)
    if k is None:
        k = data.trunk.key if data.trunk is not None else model_fingerprint(data.base)
        data._base_key = k
    return k


def _ids(examples) -> list:
    return [e["input_ids"] for e in examples]


def _labels(examples) -> list:
    return [e["labels"] for e in examples]


def reference_key(data, cfg: RefConfig) -> str:
    spec = repr(data.spec) if data.spec is not None else "full"
    return content_key("ref", base_key(data), spec, _ids(data.seed_examples), _labels(data.seed_examples),
                       ref_plan(data, cfg))


def reference_model(data, cfg: RefConfig):
    """A copy of the base fine-tuned on the seed set (cached by content; a deterministic seed from that content)."""
    key = reference_key(data, cfg)
    ref = copy.deepcopy(data.base)
    with torch.random.fork_rng():  # LoRA's random init from the content key, not from the caller's RNG state
        torch.manual_seed(int(key[:8], 16))
        if data.spec is not None:
            ref = prepare_for_finetuning(ref, data.spec)

    def train() -> dict:
        rng = np.random.default_rng(int(key[:12], 16))
        with torch.random.fork_rng():
            torch.manual_seed(int(key[:8], 16))
            steps, lr, bs = ref_plan(data, cfg)
            train_sft(ref, data.seed_examples, data.pad_id, TrainConfig(lr=lr, batch_size=bs, max_steps=steps), rng,
                      trunk=data.trunk)
        return {n: p for n, p in ref.named_parameters() if p.requires_grad}

    state = cached_state("reference", key, train, data.cache_dir)
    with torch.no_grad():
        params = dict(ref.named_parameters())
        for n, v in state.items():
            params[n].copy_(v)
    ref.eval()
    ref._dcai_key = key
    return ref


@torch.no_grad()
def _losses(model, examples, pad_id: int, trunk, batch_size: int = 16) -> list[np.ndarray]:
    was = model.training
    model.eval()
    out = []
    for s in range(0, len(examples), batch_size):
        chunk = examples[s: s + batch_size]
        nll, _ = token_nll_fast(model, collate(chunk, pad_id), trunk)
        for i, e in enumerate(chunk):
            out.append(nll[i, : len(e["input_ids"])].cpu().numpy().astype(np.float32))
    model.train(was)
    return out


def token_losses(data, model, examples, model_key: str | None = None) -> list[np.ndarray]:
    """Per-token NLL of each example under `model`, aligned with its input_ids (0 where there is no label).
    With a `model_key` (base_key(data) or a reference model's key) the result is cached by content."""
    if model_key is None:
        return _losses(model, examples, data.pad_id, data.trunk)
    key = content_key("losses", model_key, _ids(examples), _labels(examples))
    return cached_arrays("token-losses", key, lambda: _losses(model, examples, data.pad_id, data.trunk),
                         data.cache_dir)


def base_losses(data, examples=None) -> list[np.ndarray]:
    return token_losses(data, data.base, data.examples if examples is None else examples, base_key(data))


def reference_losses(data, ref, examples=None) -> list[np.ndarray]:
    return token_losses(data, ref, data.examples if examples is None else examples, ref._dcai_key)


@torch.no_grad()
def mean_hidden(data, model, examples=None, batch_size: int = 16) -> np.ndarray:
    """Mean last hidden state over each example's tokens (sample embeddings); through the trunk when there is one."""
    examples = data.examples if examples is None else examples
    parts = _core(model)
    out = []
    model.eval()
    for s in range(0, len(examples), batch_size):
        b = collate(examples[s: s + batch_size], data.pad_id)
        dev = next(model.parameters()).device
        if parts is not None and data.trunk is not None:
            core = parts[0]
            h = data.trunk.batch_states(b["input_ids"], b["attention_mask"]).to(dev)
            h = core.norm(_run_layers(core, h, core.layers[data.trunk.split:])).cpu()
        else:
            h = model(input_ids=b["input_ids"].to(dev), attention_mask=b["attention_mask"].to(dev),
                      output_hidden_states=True).hidden_states[-1].cpu()
        m = b["attention_mask"].unsqueeze(-1).float()
        out.append(((h * m).sum(1) / m.sum(1)).float().cpu().numpy())
    return np.concatenate(out)


def labelled(e) -> np.ndarray:
    return np.asarray(e["labels"]) != -100


def global_top(scores: list[np.ndarray], masks: list[np.ndarray], ratio: float) -> list[np.ndarray]:
    """Keep the top `ratio` of labelled tokens over the whole dataset by score (one global threshold)."""
    allv = np.concatenate([s[m] for s, m in zip(scores, masks)])
    if len(allv) == 0:
        return [np.zeros_like(s, dtype=np.float32) for s in scores]
    thr = np.quantile(allv, 1 - ratio)
    return [((s >= thr) & m).astype(np.float32) for s, m in zip(scores, masks)]


def sample_mean(values: list[np.ndarray], masks: list[np.ndarray]) -> np.ndarray:
    return np.array([v[m].mean() if m.any() else 0.0 for v, m in zip(values, masks)])


def keep_top(score: np.ndarray, budget: float) -> np.ndarray:
    """Sample weights 1 for the `budget` fraction with the highest score, 0 otherwise (stable ties)."""
    k = max(1, int(round(budget * len(score))))
    w = np.zeros(len(score), dtype=np.float32)
    w[np.argsort(-score, kind="stable")[:k]] = 1.0
    return w


def pad_to(arrays: list[np.ndarray], T: int) -> torch.Tensor:
    out = torch.zeros((len(arrays), T), dtype=torch.float32)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = torch.as_tensor(a[:T], dtype=torch.float32)
    return out


class BudgetConfig(RefConfig):
    budget: float = 0.5
