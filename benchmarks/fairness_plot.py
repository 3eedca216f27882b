"""Accuracy vs risk disparity per method and dataset, from the committed records (mean ± std over seeds).

    python benchmarks/fairness_plot.py [--results results] [--out docs/fairness_tradeoff.png]"""
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
    ap.add_argument("--out", default="docs/fairness_tradeoff.png")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs, _ = scan(Path(a.results))
    pts: dict = defaultdict(lambda: defaultdict(list))
    for _, r in pairs:
        if r.family == "fairness.active_sampling" and r.status == "ok":
            pts[r.task][r.method].append((r.metrics["accuracy"].value, r.metrics["risk_disparity"].value))
    tasks = sorted(pts)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, t in zip(axes[0], tasks):
        for m in sorted(pts[t]):
            v = np.array(pts[t][m])
            ax.errorbar(v[:, 1].mean(), v[:, 0].mean(), xerr=v[:, 1].std(), yerr=v[:, 0].std(), fmt="o", capsize=3,
                        label=m)
        ax.set_title(t)
        ax.set_xlabel("test risk disparity (lower is fairer)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=90, metadata={"Software": None})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
