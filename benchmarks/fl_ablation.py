"""Ablation of the paper mechanism's aggregation rule on a federated task: the committed `peer_prediction` records
(aggregate='size': FedAvg weights n_i * exp(-lam * W_i), scores only pay) against the same mechanism that also
weights by its scores (aggregate='score': n_i * max(score_i, 0) * exp(-lam W_i), the v1 rule; 'positive':
n_i * [score_i > 0] * exp(-lam W_i)), each at its own Stackelberg equilibrium, paired over seed indices.

    python benchmarks/fl_ablation.py [--task fl-digits-dir05] [--seeds 10] [--out DIR]"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import read_record, scan  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402
from bench.runner import Cell, run_cell  # noqa: E402

KEYS = ("final_accuracy", "accuracy_auc", "server_utility", "mean_cleaning", "payment_per_round")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="fl-digits-dir05")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--results", default="results")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    discover()
    version = TASKS.get(a.task).version
    base = {r.seed_index: r for _, r in scan(Path(a.results))[0]
            if r.task == a.task and r.task_version == version and r.method == "peer_prediction" and r.status == "ok"
            and r.config["method_config"].get("aggregate") == "size"}
    out = Path(a.out or tempfile.mkdtemp(prefix="fl_ablation_"))
    rows = {"size (committed)": base}
    for agg in ("score", "positive"):
        rows[agg] = {}
        for s in range(a.seeds):
            status, p = run_cell(Cell(a.task, "peer_prediction", s, method_overrides=(("aggregate", agg),)), out)
            rows[agg][s] = read_record(p)
    print(f"{a.task} v{version}: peer_prediction by aggregation rule (mean +- sd; paired t vs 'size' over shared seeds)")
    print("| aggregate | n | " + " | ".join(KEYS) + " | p final_accuracy vs size |")
    print("|---" * (len(KEYS) + 3) + "|")
    for name, recs in rows.items():
        seeds = sorted(recs)
        cells = []
        for k in KEYS:
            v = np.array([recs[s].metrics[k].value for s in seeds], dtype=float)
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}")
        p = ""
        if name != "size (committed)":
            shared = sorted(set(seeds) & set(base))
            p = f"{stats.ttest_rel([recs[s].metrics['final_accuracy'].value for s in shared], [base[s].metrics['final_accuracy'].value for s in shared]).pvalue:.2g}"
        print(f"| {name} | {len(seeds)} | " + " | ".join(cells) + f" | {p} |")


if __name__ == "__main__":
    main()
