"""Wall time of the embedded-default suite per family on this machine.

    python benchmarks/suite_walltime.py            # smoke suite timed now (1 seed, tiny sizes), per family
                                                   # + full suite per family from the committed records' wall times
    python benchmarks/suite_walltime.py --run-full # also time a fresh full-suite run into a temp dir (minutes)
    python benchmarks/suite_walltime.py --run-full --cold-cache   # ... with an empty model cache (cached target /
                                                   # retain / SFT models are rebuilt: the cost a fresh clone pays)
The full suite is the tasks in the 'full' suite; 'extended'-only tasks (GSM8K SFT) are left out of the timing.

The per-family reference-library ratios are printed by the family benchmarks: label_noise_cl_vs_cleanlab.py (CL vs
cleanlab), crowd_scoring_1m.py (vs crowd-kit DawidSkene), lm_trainer_tokens_per_s.py (vs a plain transformers loop)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import scan  # noqa: E402
from bench.registry import TASKS, discover  # noqa: E402
from bench.runner import plan, run_sweep  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-full", action="store_true")
    ap.add_argument("--cold-cache", action="store_true", help="use an empty model cache for the timed runs")
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent.parent / "results"))
    a = ap.parse_args()
    cold = tempfile.TemporaryDirectory(prefix="dcai-cold-cache-") if a.cold_cache else None
    if cold is not None:
        os.environ["DCAI_CACHE_DIR"] = cold.name
    discover()
    families = sorted({t.family for _, t in TASKS.items()})
    recorded: dict = defaultdict(float)
    cells: dict = defaultdict(int)
    for _, r in scan(Path(a.results))[0]:
        if r.status == "ok" and "full" in TASKS.get(r.task).suites:
            recorded[r.family] += r.provenance.wall_time_s
            cells[r.family] += 1
    print(f"{'family':28s} {'smoke (s)':>10s} {'full, recorded (s)':>19s} {'cells':>6s}" +
          ("  full, timed now (s)" if a.run_full else ""))
    tot_s = tot_f = tot_now = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for fam in families:
            tasks = [n for n, t in TASKS.items() if t.family == fam and "full" in t.suites]
            if not tasks:
                continue
            t = time.perf_counter()
            run_sweep(plan(tasks=tasks, smoke=True), Path(tmp) / "smoke", progress=False)
            s = time.perf_counter() - t
            line = f"{fam:28s} {s:10.1f} {recorded[fam]:19.1f} {cells[fam]:6d}"
            tot_s += s
            tot_f += recorded[fam]
            if a.run_full:
                t = time.perf_counter()
                run_sweep(plan(tasks=tasks), Path(tmp) / "full", progress=False)
                now = time.perf_counter() - t
                tot_now += now
                line += f"  {now:19.1f}"
            print(line)
    print(f"{'total':28s} {tot_s:10.1f} {tot_f:19.1f} {sum(cells.values()):6d}" +
          (f"  {tot_now:19.1f}" if a.run_full else ""))
    print("target: the whole embedded-default suite in < 600 s on 2 cores")


if __name__ == "__main__":
    main()
