"""Convergence curves (test accuracy per FedAvg round, mean ± std over seeds) per mechanism, from the records.

    python benchmarks/fl_convergence_plot.py [--results results] [--out docs/fl_convergence.png]"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import scan  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    ap.add_argument("--out", default="docs/fl_convergence.png")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict = defaultdict(list)
    for _, r in scan(Path(a.results))[0]:
        if r.family == "federated.incentives" and r.status == "ok":
            curves[(r.task, r.method)].append(r.artifacts["curve"])
    fig, ax = plt.subplots(figsize=(6, 4))
    for (task, m), cs in sorted(curves.items()):
        c = np.array(cs)
        x = np.arange(1, c.shape[1] + 1)
        ax.plot(x, c.mean(0), label=f"{m} (n={len(cs)})")
        ax.fill_between(x, c.mean(0) - c.std(0), c.mean(0) + c.std(0), alpha=0.15)
    ax.set_xlabel("FedAvg round")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=90, metadata={"Software": None})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
