"""One lane of `benchmarks/paper_tier_cpu.sh`: run (task, method) pairs in the given order, each at its task's
default seeds, in ONE process, through the harness (`bench.runner.run_cell`: records, resume, provenance as with
`dcai-bench run`).

One process per lane instead of one `dcai-bench run` per method: the interpreter start, the registry discovery and
the model load are paid once per lane, and tasks that keep their loaded world in process memory (the unlearning
paper task's fixed world: base model, target/retain models and the retain model's reference statistics, about a
minute per cell otherwise) reuse it for every method.

    python benchmarks/paper_tier_lane.py --name sft --results results --deadline 5400 \
        sft-sample-gsm8k-smollm2:random_subset pref-sort-smollm2:dpo ...

A (task, method) pair is not started once `--deadline` seconds have passed since `--start` (epoch seconds; default:
now), so what the budget allowed is what gets recorded; re-running resumes (recorded cells are skipped). Prints one
line per pair (wall seconds, the lane clock) and a line per failed cell with its error's first line; a pair that does
not resolve (unknown task or method) is reported and skipped.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_pair(text: str) -> tuple[str, str]:
    task, sep, method = text.partition(":")
    if not sep or not task or not method:
        raise argparse.ArgumentTypeError(f"expected TASK:METHOD, got {text!r}")
    return task, method


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", nargs="+", type=parse_pair, metavar="TASK:METHOD")
    ap.add_argument("--name", default="lane")
    ap.add_argument("--results", default="results")
    ap.add_argument("--deadline", type=float, default=5400.0, help="seconds after --start (default 5400 = 90 min)")
    ap.add_argument("--start", type=float, default=None, help="epoch seconds the budget counts from (default: now)")
    a = ap.parse_args(argv)

    from bench.errors import BenchError
    from bench.runner import plan, run_cell

    start = a.start if a.start is not None else time.time()
    results = Path(a.results)
    failed = 0
    for task, method in a.pairs:
        clock = time.time() - start
        if clock > a.deadline:
            print(f"[{a.name}] deadline reached at {clock:.0f} s: not started: {task} {method}", flush=True)
            continue
        t0 = time.time()
        try:
            cells = plan(tasks=[task], methods=[method])
        except BenchError as e:  # a mistyped pair: say so and go on with the lane
            failed += 1
            print(f"[{a.name}] not run: {task} {method}: {e}", flush=True)
            continue
        for cell in cells:
            outcome, path = run_cell(cell, results)
            if outcome == "failed":
                failed += 1
                err = (json.loads(Path(path).read_text()).get("error") or "").strip().splitlines()
                print(f"[{a.name}] FAILED {task} {method} seed {cell.seed_index}: {err[0] if err else '?'} ({path})",
                      flush=True)
        print(f"[{a.name}] {task} {method}: {time.time() - t0:.0f} s (lane clock {time.time() - start:.0f} s)",
              flush=True)
    print(f"[{a.name}] lane done: {time.time() - start:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
