"""Paired comparisons behind the "paper vs here" tables of docs/crowd.md and docs/fairness.md, from result records
of the tasks' current versions: for each (task, metric, A, B) the means over shared seeds, the mean paired difference
A - B, the two-sided paired t-test p-value (scipy.stats.ttest_rel over shared seed indices, unadjusted: the same
number `python -m bench compare --task T A B --metric M` prints) and the smallest difference the seeds detect
(alpha 0.05, power 0.8: (t_{0.975,n-1} + t_{0.8,n-1}) * sd_diff / sqrt(n)).

    python benchmarks/crowd_fairness_paper_vs_here.py [--results results] [--summary]
--summary: per task, each method's mean +- sd of the family's headline metrics instead (the docs' results tables)."""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import scan  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402

ROWS = [
    # crowd: conditioned CA (the paper's method) vs the naive LLM-agreement score and the skill estimators
    ("crowd-cifar10n-c30", "auroc", "conditioned_ca", "llm_agreement"),
    ("crowd-cifar10n-c30", "auroc", "conditioned_ca", "correlated_agreement"),
    ("crowd-cifar10n-c30", "auroc", "conditioned_ca", "dawid_skene"),
    ("crowd-cifar10n-c50", "auroc", "conditioned_ca", "llm_agreement"),
    ("crowd-cifar10n-c30-partial", "auroc", "conditioned_ca", "llm_agreement"),
    ("crowd-cifar10n-c30-partial", "auroc", "conditioned_ca", "mace"),
    ("crowd-cifar10n-c30-partial", "auroc", "conditioned_ca", "correlated_agreement"),
    ("crowd-cifar10n-mixed", "auroc", "conditioned_ca", "llm_agreement"),
    ("crowd-cifar10n-llm-mixture", "auroc", "conditioned_ca", "llm_agreement"),
    ("crowd-cifar10n-llm-mixture", "auroc", "conditioned_ca", "dawid_skene"),
    ("crowd-cifar10n-otherllm", "auroc", "conditioned_ca", "random_scores"),
    # fairness: FIS vs random sampling (fairness and accuracy), vs ISAL / JTT, and the fair-training reference
    ("fair-adult-sex", "dp_diff", "fis", "random_sampling"),
    ("fair-compas-race", "dp_diff", "fis", "random_sampling"),
    ("fair-german-age", "dp_diff", "fis", "random_sampling"),
    ("fair-adult-sex-eop", "eop_diff", "fis", "random_sampling"),
    ("fair-adult-sex", "accuracy", "fis", "random_sampling"),
    ("fair-compas-race", "accuracy", "fis", "random_sampling"),
    ("fair-german-age", "accuracy", "fis", "random_sampling"),
    ("fair-adult-sex-eop", "accuracy", "fis", "random_sampling"),
    ("fair-adult-sex", "dp_diff", "fis", "isal"),
    ("fair-compas-race", "dp_diff", "fis", "isal"),
    ("fair-adult-sex", "dp_diff", "fis", "jtt"),
    ("fair-compas-race", "dp_diff", "fis", "jtt"),
    ("fair-compas-race", "dp_diff", "fis", "label_nothing"),
    ("fair-compas-race", "accuracy", "fis", "label_nothing"),
    ("fair-adult-sex", "dp_diff", "fis", "influence_risk_gap"),
    ("fair-compas-race", "dp_diff", "fair_training_eg", "fis"),
    ("fair-compas-race", "accuracy", "fair_training_eg", "fis"),
    ("fair-adult-sex", "accuracy", "fair_training_eg", "fis"),
]


SUMMARY = {"crowd.cheating": ("auroc", "auroc_copiers", "auprc", "mv_accuracy_after_removal"),
           "fairness.active_sampling": (None, "accuracy", "accuracy_change_vs_random", "disparity_change_vs_random",
                                        "budget_used")}


def summary(vals: dict, records) -> None:
    tasks = sorted({(r.family, r.task) for r in records if r.family in SUMMARY and r.task in TASKS
                    and r.task_version == TASKS.get(r.task).version})
    for family, task in tasks:
        t = TASKS.get(task)
        metrics = [m or t.primary_metric for m in SUMMARY[family]]
        kinds = {r.method: r.method_kind for r in records if r.task == task}
        sign = 1.0 if next(r.metrics[metrics[0]].direction for r in records if r.task == task) == "max" else -1.0
        methods = sorted(kinds, key=lambda m: -sign * np.mean(list(vals.get((task, metrics[0], m), {0: 0.0}).values())))
        print(f"### {task} (v{t.version})\n")
        print("| method | n | " + " | ".join(metrics) + " |")
        print("|---|---|" + "---|" * len(metrics))
        for m in methods:
            cells = []
            n = 0
            for metric in metrics:
                v = np.array(list(vals.get((task, metric, m), {}).values()))
                n = max(n, len(v))
                cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else "—")
            mark = " †" if kinds[m] in ("reference", "oracle") else ""
            print(f"| {m}{mark} | {n} | " + " | ".join(cells) + " |")
        print()


def main() -> None:
    from scipy.stats import t, ttest_rel

    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    ap.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    discover()
    pairs, _ = scan(Path(a.results))
    vals: dict = defaultdict(dict)
    for _, r in pairs:
        if r.task in TASKS and r.task_version == TASKS.get(r.task).version and r.status == "ok":
            for m, v in r.metrics.items():
                if v.value is not None:
                    vals[(r.task, m, r.method)][r.seed_index] = v.value
    if a.summary:
        summary(vals, [r for _, r in pairs if r.status == "ok"])
        return
    print("| task | metric | A | B | mean A | mean B | A - B | n | paired p | detectable |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for task, metric, x, y in ROWS:
        va, vb = vals.get((task, metric, x), {}), vals.get((task, metric, y), {})
        s = sorted(set(va) & set(vb))
        if len(s) < 2:
            print(f"| {task} | {metric} | {x} | {y} | — | — | — | {len(s)} | (no records) | |")
            continue
        A, B = np.array([va[i] for i in s]), np.array([vb[i] for i in s])
        d = A - B
        p = float(ttest_rel(A, B).pvalue) if d.std() > 0 else 1.0
        det = (t.ppf(0.975, len(s) - 1) + t.ppf(0.8, len(s) - 1)) * d.std(ddof=1) / np.sqrt(len(s))
        print(f"| {task} | {metric} | {x} | {y} | {A.mean():.3f} | {B.mean():.3f} | {d.mean():+.3f} | {len(s)} | "
              f"{p:.2g} | {det:.3f} |")


if __name__ == "__main__":
    main()
