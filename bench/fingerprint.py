"""Content hashes of datasets (numpy arrays, tensors, pandas frames, lists, dicts, dataclasses)."""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np


def _update(h: "hashlib._Hash", obj: Any) -> None:
    if hasattr(obj, "fingerprint") and callable(obj.fingerprint) and not isinstance(obj, type):
        _update(h, obj.fingerprint())
    elif obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        h.update(repr((type(obj).__name__, obj)).encode())
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        if a.dtype == object:
            for x in a.ravel():
                _update(h, x)
        else:
            h.update(a.tobytes())
    elif isinstance(obj, np.generic):
        _update(h, obj.item())
    elif type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        _update(h, obj.detach().cpu().float().numpy())
    elif hasattr(obj, "state_dict") and callable(obj.state_dict):  # a torch module: its weights
        h.update(type(obj).__name__.encode())
        _update(h, dict(obj.state_dict()))
    elif type(obj).__module__.startswith("pandas"):
        import pandas as pd

        h.update(pd.util.hash_pandas_object(obj, index=True).values.tobytes())
        h.update(repr(list(getattr(obj, "columns", []))).encode())
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=repr):
            _update(h, k)
            _update(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for x in obj:
            _update(h, x)
        h.update(b"]")
    elif dataclasses.is_dataclass(obj):
        h.update(type(obj).__name__.encode())
        for f in dataclasses.fields(obj):
            if f.metadata.get("fingerprint", True):
                _update(h, f.name)
                _update(h, getattr(obj, f.name))
    else:
        raise TypeError(
            f"cannot fingerprint {type(obj).__name__}: give it a fingerprint() method or override Task.fingerprint"
        )


def content_hash(obj: Any) -> str:
    h = hashlib.sha256()
    _update(h, obj)
    return "sha256:" + h.hexdigest()
