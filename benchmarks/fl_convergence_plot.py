"""Convergence curves of the federated tasks: test accuracy per FedAvg round (mean +- std over seeds) per mechanism at
its Stackelberg equilibrium, one panel per heterogeneity regime, with the first-best population (every client at full
effort) and the target line, from the committed records of the tasks' current versions.

    python benchmarks/fl_convergence_plot.py [--results results] [--out docs/fl_convergence.png]"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import scan  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    ap.add_argument("--out", default="docs/fl_convergence.png")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    discover()
    curves: dict = defaultdict(lambda: defaultdict(list))
    first_best: dict = defaultdict(list)
    targets: dict = defaultdict(list)
    for _, r in scan(Path(a.results))[0]:
        t = TASKS._items.get(r.task)
        if r.family != "federated.incentives" or r.status != "ok" or t is None or t.version != r.task_version:
            continue
        curves[r.task][r.method].append(r.artifacts["curve"])
        if r.method == "no_incentive":
            first_best[r.task].append(r.artifacts["first_best_curve"])
            targets[r.task].append(r.artifacts["target"])
    tasks = sorted(curves)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for m, cs in sorted(curves[task].items()):
            c = np.array(cs)
            x = np.arange(1, c.shape[1] + 1)
            ax.plot(x, c.mean(0), label=f"{m} (n={len(cs)})")
            ax.fill_between(x, c.mean(0) - c.std(0), c.mean(0) + c.std(0), alpha=0.12)
        if first_best[task]:
            fb = np.array(first_best[task])
            ax.plot(np.arange(1, fb.shape[1] + 1), fb.mean(0), "k--", lw=1, label="first best (all full effort)")
            ax.axhline(float(np.mean(targets[task])), color="grey", lw=0.8, ls=":", label="target (mean)")
        ax.set_title(task)
        ax.set_xlabel("FedAvg round")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(a.out, dpi=90, metadata={"Software": None})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
