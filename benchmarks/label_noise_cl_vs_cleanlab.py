"""Confident Learning detection time: ours vs cleanlab.filter.find_label_issues(filter_by="confident_learning") on the
same predicted probabilities (flags are identical; tests/test_label_noise.py checks that). Prints times and the ratio.

    python benchmarks/label_noise_cl_vs_cleanlab.py [--n 200000] [--classes 10] [--repeats 5]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baselines.label_noise.confident_learning import confident_learning_flags  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from cleanlab.filter import find_label_issues

    rng = np.random.default_rng(0)
    labels = rng.integers(0, a.classes, a.n)
    logits = rng.normal(size=(a.n, a.classes)) + 3 * np.eye(a.classes)[labels] * (rng.random(a.n) > 0.3)[:, None]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)

    def best(fn):
        ts = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t)
        return min(ts), out

    t_ours, ours = best(lambda: confident_learning_flags(labels, probs))
    t_ref, ref = best(lambda: find_label_issues(labels, probs, filter_by="confident_learning", n_jobs=1))
    assert (ours == ref).all(), "flags differ from cleanlab"
    print(f"n={a.n} K={a.classes} flagged={int(ours.sum())} (identical to cleanlab)")
    print(f"ours     {t_ours * 1e3:8.1f} ms")
    print(f"cleanlab {t_ref * 1e3:8.1f} ms")
    print(f"ratio cleanlab/ours = {t_ref / t_ours:.2f}x")


if __name__ == "__main__":
    main()
