"""Where does conditioning peer prediction on the requester's LLM labels beat the naive LLM-agreement score?

A sweep over the simulator's regimes (tasks/crowd/simulate.py) with the fast scores: the naive score (1 - agreement
with the requester's LLM label), conditioned CA (the paper's method) and Wawa (agreement with the majority vote, as
a stand-in for the crowd-kit skill estimators, which rank within a few points of it on these tasks). For each regime:
mean AUROC of ranking low-effort workers last over `--seeds` data seeds, and the paired difference conditioned CA -
naive with its two-sided paired t-test p-value.

    python benchmarks/crowd_regimes.py [--seeds 10]
Everything else as the task defaults (500 items, 60 workers, 100 labels each, 30 % cheaters, requester holds its own
LLM sample on half the items)."""
from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

from baselines.crowd.conditioned_ca import Config as CAConfig, conditioned_ca  # noqa: E402
from baselines.crowd.llm_agreement import llm_agreement  # noqa: E402
from baselines.crowd.wawa import wawa  # noqa: E402
from tasks.crowd.metrics import cheater_detection  # noqa: E402
from tasks.crowd.simulate import human_confusions, simulate  # noqa: E402


class _Ctx:
    smoke = False

    def add_artifact(self, *a) -> None:
        pass


METHODS = {"naive": lambda v: llm_agreement(v, None, _Ctx()),
           "conditioned_ca": lambda v: conditioned_ca(v, CAConfig(), _Ctx()),
           "wawa": lambda v: wawa(v, None, _Ctx())}


def run(kw: dict, seeds: int, base: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {m: [] for m in METHODS}
    for s in range(seeds):
        b = simulate(np.random.default_rng(10_000 + s), base=base, **kw)
        for m, fn in METHODS.items():
            out[m].append(cheater_detection(np.asarray(fn(b.public), dtype=float), b.low_effort)["auroc"])
    return {m: np.array(v) for m, v in out.items()}


def main() -> None:
    from scipy.stats import ttest_rel

    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    a = ap.parse_args()
    base = human_confusions()
    grid = itertools.product([None, (0.8, 0.99), (0.5, 0.99)], [0.9, 0.5], [0.8, 0.6], [0.85, 0.75], [0.0, 0.1])
    t0 = time.perf_counter()
    print("| honest skill | copy | LLM consistency | LLM acc. | random reporters | naive | cond. CA | Wawa | "
          "CA - naive (p) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for skill, copy, cons, acc, lazy in grid:
        kw = dict(copy_prob=copy, llm_consistency=cons, llm_accuracy=acc, lazy_fraction=lazy, honest_acc=skill)
        r = run(kw, a.seeds, base)
        d = r["conditioned_ca"] - r["naive"]
        p = ttest_rel(r["conditioned_ca"], r["naive"]).pvalue
        sk = "CIFAR-10N" if skill is None else f"{skill[0]}-{skill[1]}"
        print(f"| {sk} | {copy} | {cons} | {acc} | {lazy} | {r['naive'].mean():.3f} | "
              f"{r['conditioned_ca'].mean():.3f} | {r['wawa'].mean():.3f} | {d.mean():+.3f} ({p:.2g}) |", flush=True)
    print(f"\n{a.seeds} seeds per regime, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
