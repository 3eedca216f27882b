"""Scoring 1M crowd labels: the conditioned correlated-agreement score vs crowd-kit's DawidSkene on the same data.

    python benchmarks/crowd_scoring_1m.py [--labels 1000000] [--ds-iters 20]
Prints both wall times and the ratio (DawidSkene / ours)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baselines.common.peer_prediction import ca_scores  # noqa: E402
from tasks.crowd.metrics import cheater_detection  # noqa: E402
from tasks.crowd.simulate import simulate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", type=int, default=1_000_000)
    ap.add_argument("--ds-iters", type=int, default=20)
    a = ap.parse_args()
    n_workers = 1000
    per = a.labels // n_workers
    t = time.perf_counter()
    b = simulate(np.random.default_rng(0), n_items=a.labels // 10, n_workers=n_workers, labels_per_worker=per)
    p = b.public
    print(f"simulated {len(p.labels):,} labels ({p.n_items:,} items, {n_workers} workers) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    s, _ = ca_scores(p.items, p.workers, p.labels, p.n_items, p.n_workers, p.n_classes, strata=p.llm_labels)
    t_ours = time.perf_counter() - t
    print(f"conditioned CA: {t_ours:.2f} s, AUROC {cheater_detection(s, b.is_cheater)['auroc']:.3f}")
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    df = pd.DataFrame({"task": p.items, "worker": p.workers, "label": p.labels})
    t = time.perf_counter()
    DawidSkene(n_iter=a.ds_iters).fit(df)
    t_ds = time.perf_counter() - t
    print(f"crowd-kit DawidSkene ({a.ds_iters} EM iterations): {t_ds:.2f} s")
    print(f"ratio DawidSkene/ours = {t_ds / t_ours:.1f}x")


if __name__ == "__main__":
    main()
