"""Paired tables of the crowd and fairness tasks from result records: mean +- sd over seeds per method, and for each
method the paired two-sided t-test (scipy.stats.ttest_rel over shared seed indices) against a reference method, with
Holm correction across the rows, plus the smallest difference the seeds can detect (alpha 0.05, power 0.8):
delta = (t_{0.975, n-1} + t_{0.8, n-1}) * sd_diff / sqrt(n).

    python benchmarks/crowd_fairness_tables.py [--results results] [--task 'crowd-*'] [--metric auroc]
                                               [--against conditioned_ca]
Defaults: each task's primary metric, against the paper's method (conditioned_ca / fis)."""
from __future__ import annotations

import argparse
import fnmatch
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import scan  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402

PAPER = {"crowd.cheating": "conditioned_ca", "fairness.active_sampling": "fis"}


def holm(p: list[float]) -> list[float]:
    order = np.argsort(p)
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def detectable(diff: np.ndarray) -> float:
    from scipy.stats import t

    n = len(diff)
    return float((t.ppf(0.975, n - 1) + t.ppf(0.8, n - 1)) * np.std(diff, ddof=1) / np.sqrt(n)) if n > 1 else np.nan


def table(records, task: str, metric: str, against: str) -> str:
    from scipy.stats import ttest_rel

    by = defaultdict(dict)
    for r in records:
        if r.task == task and r.status == "ok" and r.metrics.get(metric) and r.metrics[metric].value is not None:
            by[(r.method, r.method_kind)][r.seed_index] = r.metrics[metric].value
    ref = next((v for (m, _), v in by.items() if m == against), None)
    rows, ps = [], []
    for (m, kind), vals in sorted(by.items(), key=lambda kv: -np.mean(list(kv[1].values()))):
        v = np.array(list(vals.values()))
        line = [m + (" †" if kind in ("reference", "oracle") else ""), f"{v.mean():.3f} ± {v.std(ddof=1):.3f}",
                str(len(v))]
        if ref is not None and m != against:
            shared = sorted(set(vals) & set(ref))
            d = np.array([vals[s] - ref[s] for s in shared])
            p = float(ttest_rel([vals[s] for s in shared], [ref[s] for s in shared]).pvalue) if d.std() > 0 else 1.0
            line += [f"{d.mean():+.3f}", p, f"{detectable(d):.3f}"]
            ps.append(p)
        else:
            line += ["", None, ""]
        rows.append(line)
    adj = iter(holm([p for p in ps]))
    out = [f"### {task} — {metric} (paired vs {against})", "",
           f"| method | mean ± sd | n | diff vs {against} | p (Holm) | detectable diff |", "|---|---|---|---|---|---|"]
    for line in rows:
        p = line[4]
        ptxt = "" if p is None else f"{next(adj):.3g}"
        out.append(f"| {line[0]} | {line[1]} | {line[2]} | {line[3]} | {ptxt} | {line[5]} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    ap.add_argument("--task", action="append")
    ap.add_argument("--metric")
    ap.add_argument("--against")
    a = ap.parse_args()
    discover()
    pairs, _ = scan(Path(a.results))
    records = [r for _, r in pairs]
    names = sorted({r.task for r in records if r.family in PAPER
                    and r.task in TASKS and r.task_version == TASKS.get(r.task).version})
    for pat in a.task or ["*"]:
        for name in [n for n in names if fnmatch.fnmatch(n, pat)]:
            t = TASKS.get(name)
            cur = [r for r in records if r.task_version == t.version]
            print(table(cur, name, a.metric or t.primary_metric, a.against or PAPER[t.family]))
            print()


if __name__ == "__main__":
    main()
