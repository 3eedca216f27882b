"""Accuracy vs the task's fairness notion (primary metric) per method and dataset, from the committed records of the
current task versions (mean ± std over seeds; references and oracles hollow).

    python benchmarks/fairness_plot.py [--results results] [--out docs/fairness_tradeoff.png]"""
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
    ap.add_argument("--out", default="docs/fairness_tradeoff.png")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    discover()
    pairs, _ = scan(Path(a.results))
    pts: dict = defaultdict(lambda: defaultdict(list))
    kinds: dict = {}
    for _, r in pairs:
        if r.family != "fairness.active_sampling" or r.status != "ok" or r.task not in TASKS:
            continue
        t = TASKS.get(r.task)
        if r.task_version != t.version:
            continue
        pts[r.task][r.method].append((r.metrics["accuracy"].value, r.metrics[t.primary_metric].value))
        kinds[r.method] = r.method_kind
    tasks = sorted(pts)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, name in zip(axes[0], tasks):
        for m in sorted(pts[name]):
            v = np.array(pts[name][m])
            hollow = kinds[m] in ("reference", "oracle")
            ax.errorbar(v[:, 1].mean(), v[:, 0].mean(), xerr=v[:, 1].std(), yerr=v[:, 0].std(), fmt="o", capsize=3,
                        label=m + (" †" if hollow else ""), mfc="none" if hollow else None)
        ax.set_title(f"{name} ({len(next(iter(pts[name].values())))} seeds)")
        ax.set_xlabel(f"test {TASKS.get(name).primary_metric} (lower is fairer)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=90, metadata={"Software": None})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
