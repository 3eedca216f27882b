"""Peer loss vs cross-entropy on a robust task: the authors' alpha schedule scaled by `alpha`, and constant alpha
after the CE warm-up, each paired with CE over the same seed indices (paired t-test on per-seed differences).

    python benchmarks/label_noise_peer_alpha.py [--task adc-robust-digits-sym40] [--seeds 3] [--out /tmp/peer]
Prints one line per setting: mean test accuracy, mean difference to CE, paired p-value.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import ttest_rel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import read_record  # noqa: E402
from bench.runner import Cell, run_cell  # noqa: E402

SETTINGS = [("authors", a) for a in (1.0, 0.25, 0.1, 0.05, 0.0)] + [("constant", a) for a in (0.1, 0.2, 0.4, 0.7, 1.0)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="adc-robust-digits-sym40")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = Path(a.out or tempfile.mkdtemp(prefix="peer_alpha_"))

    def acc(method, seed, over=()):
        _, p = run_cell(Cell(a.task, method, seed, method_overrides=tuple(over)), out)
        return read_record(p).metrics["test_accuracy"].value

    ce = np.array([acc("ce", s) for s in range(a.seeds)])
    print(f"{a.task}, {a.seeds} seeds; ce {ce.mean():.4f}")
    print("schedule  alpha  peer_acc  diff_vs_ce  p(paired)")
    for sched, alpha in SETTINGS:
        pl = np.array([acc("peer_loss", s, (("schedule", sched), ("alpha", alpha))) for s in range(a.seeds)])
        p = ttest_rel(pl, ce).pvalue if a.seeds > 1 else float("nan")
        print(f"{sched:9s} {alpha:5.2f}  {pl.mean():.4f}    {np.mean(pl - ce):+.4f}     {p:.3g}", flush=True)


if __name__ == "__main__":
    main()
