"""Content-keyed caches for quantities that every method of a seed shares (the base model's per-token losses over
the pool, a reference model trained on the seed set, LLM ratings): computed once, stored under the cache directory
by a key that hashes everything they depend on (model fingerprint, token ids, configuration), and read back as
stored -- so a cell gives the same numbers whether it computed the value or found it (the fresh value goes through
the same float32 round trip as the stored one).

A process-wide memory layer avoids re-reading files within a sweep.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

_MEM: dict[str, Any] = {}


def content_key(*parts: Any) -> str:
    """sha256 over a JSON rendering of the parts (numpy arrays by their bytes, token-id lists as lists)."""
    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, np.ndarray):
            h.update(f"nd{x.dtype}{x.shape}".encode())
            h.update(np.ascontiguousarray(x).tobytes())
        elif isinstance(x, (list, tuple)):
            h.update(b"[")
            for y in x:
                feed(y)
            h.update(b"]")
        elif isinstance(x, dict):
            h.update(b"{")
            for k in sorted(x):
                feed(str(k))
                feed(x[k])
            h.update(b"}")
        else:
            h.update(json.dumps(x, default=str).encode())
            h.update(b";")

    for p in parts:
        feed(p)
    return h.hexdigest()[:24]


def _path(cache_dir: Path | str | None, kind: str, key: str, suffix: str) -> Path | None:
    return Path(cache_dir) / "sft-cache" / kind / f"{key}{suffix}" if cache_dir else None


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def cached_arrays(kind: str, key: str, compute: Callable[[], Sequence[np.ndarray]],
                  cache_dir: Path | str | None) -> list[np.ndarray]:
    """A list of float32 arrays (e.g. per-example token losses), computed once per key."""
    mk = f"{kind}/{key}"
    if mk in _MEM:
        return _MEM[mk]
    path = _path(cache_dir, kind, key, ".npz")
    if path is not None and path.exists():
        with np.load(path) as z:
            out = [z[f"a{i}"] for i in range(len(z.files))]
    else:
        out = [np.asarray(a, dtype=np.float32) for a in compute()]
        if path is not None:
            _atomic_write(path, lambda p: np.savez(open(p, "wb"), **{f"a{i}": a for i, a in enumerate(out)}))
    _MEM[mk] = out
    return out


def cached_state(kind: str, key: str, compute: Callable[[], dict], cache_dir: Path | str | None) -> dict:
    """A state dict (e.g. the trainable parameters of a reference model), computed once per key."""
    import torch

    mk = f"{kind}/{key}"
    if mk in _MEM:
        return _MEM[mk]
    path = _path(cache_dir, kind, key, ".pt")
    if path is not None and path.exists():
        out = torch.load(path, weights_only=True)
    else:
        out = {k: v.detach().cpu().clone() for k, v in compute().items()}
        if path is not None:
            _atomic_write(path, lambda p: torch.save(out, p))
    _MEM[mk] = out
    return out


def clear_memory() -> None:
    _MEM.clear()
