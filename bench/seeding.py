"""Seeds. A cell's seed derives from (task, method, seed index) by hash, so adding a method or a task changes no
other cell's number. The data seed derives from (task, seed index) only: every method of a task sees the same
noisy labels / splits for a given seed index, so method comparisons are paired."""
from __future__ import annotations

import hashlib
import os
import random

import numpy as np

_MOD = 2**31 - 1


def _h(*parts: object) -> int:
    s = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big") % _MOD


def cell_seed(task: str, method: str, seed_index: int) -> int:
    return _h("cell", task, method, int(seed_index))


def data_seed(task: str, seed_index: int) -> int:
    return _h("data", task, int(seed_index))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    except ImportError:  # pragma: no cover
        pass
