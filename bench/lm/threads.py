"""One policy for torch's intra-op threads in the LM families' cells."""
from __future__ import annotations

import os


def set_torch_threads(tiny: bool) -> int:
    """Set torch's intra-op thread count for a cell and return it: one for the embedded tiny models (their small
    matrices gain nothing from a second thread, and an idle OpenMP thread spins on a shared machine); for pretrained
    models OMP_NUM_THREADS when set (e.g. the parallel one-thread lanes of benchmarks/paper_tier_cpu.sh), else every
    core of the machine."""
    import torch

    n = max(1, 1 if tiny else int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n
