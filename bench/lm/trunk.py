"""A frozen trunk: when only the top N decoder layers of a causal LM train (`ModelSpec.train_layers`), the bottom
layers are a fixed function of the input. `FrozenTrunk` runs them once per sequence (no padding, batch of one, so the
result does not depend on what else is in a batch) and caches their output in memory and on disk, keyed by the
base model's fingerprint, the split and the token ids. Training steps and scoring passes then run only the top
layers, the final norm and the LM head -- and the LM head only at labelled positions (`head_nll`), which on
prompt-heavy SFT sequences is most of the head's cost.

Supported: Llama-family models (`model.model.layers`, `.norm`, `.rotary_emb`: Llama, SmolLM2, Mistral, Qwen2).
`token_nll_fast(model, batch, trunk=None)` is the one entry point: with a trunk it runs the top; without one (or for
other architectures) it runs the whole backbone; either way logits are computed only where there is a label. It
returns the same (nll, mask) as `bench.lm.ops.token_nll` (tested equal).
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .data import IGNORE


def _core(model):
    """(backbone, lm_head) of a Llama-family causal LM (through a peft wrapper), or None."""
    m = model.get_base_model() if hasattr(model, "get_base_model") else model
    core = getattr(m, "model", None)
    head = getattr(m, "lm_head", None)
    if core is None or head is None or not all(hasattr(core, a) for a in ("layers", "norm", "rotary_emb", "embed_tokens")):
        return None
    return core, head


def supports_trunk(model) -> bool:
    return _core(model) is not None


def _causal_mask(T: int, dtype, device):
    import torch

    m = torch.full((T, T), torch.finfo(dtype).min, dtype=dtype, device=device).triu(1)
    return m[None, None]


def _run_layers(core, h, layers):
    import torch

    T = h.shape[1]
    pos = torch.arange(T, device=h.device)[None]
    pe = core.rotary_emb(h, position_ids=pos)
    mask = _causal_mask(T, h.dtype, h.device)
    for layer in layers:
        h = layer(h, attention_mask=mask, position_embeddings=pe, position_ids=pos)
    return h


class FrozenTrunk:
    """The bottom `n_layers - n_top` decoder layers of `base` (frozen), with a per-sequence output cache."""

    def __init__(self, base, n_top: int, cache_dir: Path | str | None = None, max_memory_mb: int | None = None):
        from .models import model_fingerprint

        parts = _core(base)
        if parts is None:
            raise ValueError(f"FrozenTrunk needs a Llama-family model, got {type(base).__name__}")
        self.core = parts[0]
        n = len(self.core.layers)
        if not 1 <= n_top <= n:
            raise ValueError(f"n_top must be in [1, {n}], got {n_top}")
        self.split = n - n_top
        self.key = f"{model_fingerprint(base)}-split{self.split}"
        self.dir = Path(cache_dir) / "trunk" / self.key if cache_dir else None
        self.max_bytes = (max_memory_mb or int(os.environ.get("DCAI_TRUNK_CACHE_MB", "1024"))) * 2**20
        self.hits = self.misses = 0

    # a process-wide LRU shared by all trunks (keys carry the model fingerprint and split)
    _mem: "OrderedDict[str, object]" = OrderedDict()
    _mem_bytes = 0

    def _remember(self, k: str, t) -> None:
        cls = FrozenTrunk
        if k in cls._mem:
            return
        cls._mem[k] = t
        cls._mem_bytes += t.numel() * t.element_size()
        while cls._mem_bytes > self.max_bytes and len(cls._mem) > 1:
            _, old = cls._mem.popitem(last=False)
            cls._mem_bytes -= old.numel() * old.element_size()

    def states(self, ids) -> "object":
        """[T, H] float32 hidden states entering the first trainable layer, for one unpadded id sequence."""
        import torch

        ids = [int(i) for i in ids]
        h = hashlib.sha1(np.asarray(ids, dtype=np.int64).tobytes()).hexdigest()
        k = f"{self.key}/{h}"
        hit = FrozenTrunk._mem.get(k)
        if hit is not None:
            FrozenTrunk._mem.move_to_end(k)
            self.hits += 1
            return hit
        path = self.dir / f"{h}.npy" if self.dir else None
        if path is not None and path.exists():
            t = torch.from_numpy(np.load(path))
        else:
            self.misses += 1
            with torch.no_grad():
                dev = self.core.embed_tokens.weight.device
                x = self.core.embed_tokens(torch.tensor([ids], device=dev))
                t = _run_layers(self.core, x, self.core.layers[: self.split])[0].float().cpu().contiguous()
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, t.numpy())
                os.replace(tmp, path)
        self._remember(k, t)
        return t

    def batch_states(self, input_ids, attention_mask=None):
        """[B, T, H] trunk states of a right-padded batch (padding positions hold zeros; causal attention never lets
        a real position see them)."""
        import torch

        B, T = input_ids.shape
        lens = attention_mask.sum(1).tolist() if attention_mask is not None else [T] * B
        first = self.states(input_ids[0, : int(lens[0])].tolist())
        out = torch.zeros((B, T, first.shape[-1]), dtype=first.dtype)
        for i in range(B):
            n = int(lens[i])
            out[i, :n] = first if i == 0 else self.states(input_ids[i, :n].tolist())
        return out


def head_nll(head, hidden, labels):
    """Per-token NLL aligned with `labels` from final hidden states [B, T, H]: the head runs only at positions that
    predict a labelled token (position t-1 predicts labels[t]). Returns (nll [B, T], mask [B, T])."""
    import torch
    import torch.nn.functional as F

    tgt = labels[:, 1:]
    mask = tgt != IGNORE
    B, T = labels.shape
    nll = torch.zeros((B, T), dtype=torch.float32, device=hidden.device)
    if mask.any():
        h = hidden[:, :-1][mask]
        logits = head(h).float()
        nll[:, 1:][mask] = F.cross_entropy(logits, tgt[mask], reduction="none")
    full = torch.zeros((B, T), dtype=torch.bool, device=labels.device)
    full[:, 1:] = mask
    return nll, full


def token_nll_fast(model, batch: dict, trunk: FrozenTrunk | None = None):
    """(nll [B, T], mask [B, T]) as `bench.lm.ops.token_nll`, with logits only at labelled positions and, given a
    `trunk`, only the layers above it. Falls back to the plain forward for architectures it does not know."""
    parts = _core(model)
    if parts is None:
        from .ops import token_nll

        return token_nll(model, batch)
    core, head = parts
    dev = next(head.parameters()).device
    batch = {k: v.to(dev) if hasattr(v, "to") else v for k, v in batch.items()}
    if trunk is not None:
        h = trunk.batch_states(batch["input_ids"].cpu(), batch["attention_mask"].cpu()
                               if batch.get("attention_mask") is not None else None)
        h = h.to(dev)
        h = core.norm(_run_layers(core, h, core.layers[trunk.split:]))
    else:
        h = core(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).last_hidden_state
    return head_nll(head, h, batch["labels"])
