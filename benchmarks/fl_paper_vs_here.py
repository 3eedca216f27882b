"""The numbers behind docs/federated.md, from the committed records of the federated tasks' current versions:
per task, mean +- sd per mechanism; paired two-sided t-tests over shared seeds (scipy.stats.ttest_rel) for the
comparisons the paper's claims rest on, Holm-corrected within each task; and the smallest difference of the primary
metric the seeds can detect (paired, alpha 0.05, power 0.8: (t_0.975,n-1 + t_0.8,n-1) * sd_diff / sqrt(n)).

    python benchmarks/fl_paper_vs_here.py [--results results]"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import scan  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402

METRICS = ("final_accuracy", "accuracy_auc", "target_reached", "rounds_to_target", "server_utility",
           "score_quality_spearman", "mean_amount", "mean_cleaning", "payment_per_round", "weighted_wasserstein")
PAIRS = (("peer_prediction", "no_incentive"), ("peer_prediction", "size_reward"),
         ("oracle_quality", "no_incentive"), ("peer_prediction", "peer_prediction_ca"),
         ("peer_prediction", "oracle_quality"))
PAIR_METRICS = ("final_accuracy", "accuracy_auc", "server_utility", "score_quality_spearman")


def holm(pvals: list[float]) -> list[float]:
    order = np.argsort(pvals)
    out, running = [0.0] * len(pvals), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvals) - rank) * pvals[i]))
        out[i] = running
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    a = ap.parse_args()
    discover()
    vals: dict = defaultdict(lambda: defaultdict(dict))  # task -> method -> seed -> metrics
    for _, r in scan(Path(a.results))[0]:
        t = TASKS._items.get(r.task)
        if r.family == "federated.incentives" and r.status == "ok" and t is not None and t.version == r.task_version:
            vals[r.task][r.method][r.seed_index] = {k: v.value for k, v in r.metrics.items()} | {
                "reward": r.artifacts.get("reward")}
    for task in sorted(vals):
        print(f"\n## {task} (v{TASKS.get(task).version})\n")
        print("| method | n | " + " | ".join(METRICS) + " | reward |")
        print("|---" * (len(METRICS) + 3) + "|")
        for m in sorted(vals[task]):
            rows = vals[task][m]
            cells = []
            for k in METRICS + ("reward",):
                v = np.array([x[k] for x in rows.values() if x.get(k) is not None], dtype=float)
                if k == "rounds_to_target":
                    cells.append(f"{v.mean():.2f} ({len(v)}/{len(rows)} reached)" if len(v) else "never")
                else:
                    cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else "-")
            print(f"| {m} | {len(rows)} | " + " | ".join(cells) + " |")
        print("\n| comparison | metric | mean diff | n | p (paired t) | p (Holm) | MDE (primary) |")
        print("|---|---|---|---|---|---|---|")
        lines, ps = [], []
        for x, y in PAIRS:
            if x not in vals[task] or y not in vals[task]:
                continue
            seeds = sorted(set(vals[task][x]) & set(vals[task][y]))
            for k in PAIR_METRICS:
                d = np.array([vals[task][x][s][k] - vals[task][y][s][k] for s in seeds
                              if vals[task][x][s][k] is not None and vals[task][y][s][k] is not None])
                if len(d) < 2:
                    continue
                p = float(stats.ttest_1samp(d, 0.0).pvalue) if d.std() > 0 else (0.0 if d.mean() else 1.0)
                mde = ""
                if k == "final_accuracy":
                    n = len(d)
                    mde = f"{(stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * d.std(ddof=1) / np.sqrt(n):.3f}"
                lines.append((f"{x} - {y}", k, d.mean(), len(d), p, mde))
                ps.append(p)
        for (name, k, md, n, p, mde), ph in zip(lines, holm(ps)):
            print(f"| {name} | {k} | {md:+.3f} | {n} | {p:.2g} | {ph:.2g} | {mde} |")


if __name__ == "__main__":
    main()
