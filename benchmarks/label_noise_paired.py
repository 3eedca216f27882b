"""Paired comparisons of the committed label-noise records (results/adc-*): per task, each method's mean primary
metric, its mean per-seed difference to the family's reference (CE for learners, Confident Learning for detectors),
the paired two-sided t-test p-value over shared seed indices (scipy.stats.ttest_rel), and the smallest difference the
seeds can detect between the best method and the reference (alpha 0.05, power 0.8):
    delta = (t_{0.975, n-1} + t_{0.8, n-1}) * sd(per-seed differences) / sqrt(n).

    python benchmarks/label_noise_paired.py [--results results] [--pairs logit_adjustment:balanced_softmax ...]
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import t as student_t
from scipy.stats import ttest_rel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import read_record  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402

REFERENCE = {"label_noise.detection": "confident_learning", "label_noise.robust": "ce", "label_noise.imbalance": "ce"}


def load(results: Path) -> dict[str, dict[str, dict[int, float]]]:
    """task -> method -> seed index -> primary metric, current task versions, status ok, default configs only."""
    discover()
    out: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for p in sorted(results.glob("adc-*/v*/*/*.json")):
        r = read_record(p)
        task = TASKS._items.get(r.task)
        if task is None or task.version != r.task_version or r.status != "ok":
            continue
        v = r.metrics[r.primary_metric].value
        if v is not None:
            out[r.task][r.method][r.seed_index] = v
    return out


def paired(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, float, int]:
    seeds = sorted(set(a) & set(b))
    d = np.array([a[s] - b[s] for s in seeds])
    if len(d) < 2:
        return float(np.mean(d)) if len(d) else float("nan"), float("nan"), float("nan"), len(d)
    p = ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue if d.std() > 0 else (0.0 if d.mean() else 1.0)
    n = len(d)
    delta = (student_t.ppf(0.975, n - 1) + student_t.ppf(0.8, n - 1)) * d.std(ddof=1) / np.sqrt(n)
    return float(d.mean()), float(p), float(delta), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    ap.add_argument("--pairs", nargs="*", default=["logit_adjustment:balanced_softmax", "peer_loss:ce",
                                                   "simifeat:confident_learning", "cores_sieve:confident_learning",
                                                   "cores:ce", "dividemix:ce", "aum:confident_learning"])
    a = ap.parse_args()
    data = load(Path(a.results))
    for task in sorted(data):
        fam = TASKS.get(task).family
        ref = REFERENCE[fam]
        methods = data[task]
        print(f"\n## {task} (reference: {ref})")
        print("method               n   mean     diff_vs_ref   p(paired)   detectable_delta")
        best = max((m for m in methods if TASKS.get(task) and m != ref and m not in ("ce_clean",)),
                   key=lambda m: np.mean(list(methods[m].values())), default=None)
        for m in sorted(methods, key=lambda m: -np.mean(list(methods[m].values()))):
            vals = methods[m]
            d, p, delta, n = paired(vals, methods.get(ref, {})) if m != ref else (0.0, float("nan"), float("nan"),
                                                                                 len(vals))
            star = " <- best" if m == best else ""
            print(f"{m:20s} {len(vals):2d}  {np.mean(list(vals.values())):.4f}   {d:+.4f}      {p:9.3g}   {delta:.4f}{star}")
        for pair in a.pairs:
            x, y = pair.split(":")
            if x in methods and y in methods:
                d, p, delta, n = paired(methods[x], methods[y])
                print(f"  pair {x} - {y}: {d:+.4f} (n={n}, p={p:.3g}, detectable {delta:.4f})")


if __name__ == "__main__":
    main()
