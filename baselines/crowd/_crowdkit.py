"""Shared helpers for the crowd-kit worker-skill baselines (private to this family)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def to_frame(data) -> pd.DataFrame:
    """crowd-kit's input: one row per label with columns task / worker / label."""
    return pd.DataFrame({"task": data.items, "worker": data.workers, "label": data.labels})


def per_worker(values: pd.Series | dict, n_workers: int) -> np.ndarray:
    """A per-worker skill Series (indexed by worker id) as float[n_workers]; workers without labels get the median."""
    get = values.get
    out = np.array([float(get(w, np.nan)) for w in range(n_workers)])
    if np.isnan(out).all():
        return np.zeros(n_workers)
    return np.where(np.isnan(out), np.nanmedian(out), out)
