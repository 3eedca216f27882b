"""Time a full leaderboard rebuild over a synthetic results directory of ~3000 records (25 tasks x 12 methods x 10
seeds by default), split into registry discovery (imports of every family), reading and checking the records
(bench.validate.intake: the synthetic tasks and methods are registered, so every record passes every check), and
building + rendering the tables (paired tests, Holm, family summaries). Prints CPU and wall seconds of each part.

    python benchmarks/leaderboard_rebuild.py [--tasks 25] [--methods 12] [--seeds 10]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's bench, not an installed one


def _timed(label, fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    print(f"{label:<34} cpu {time.process_time() - c:6.2f} s   wall {time.perf_counter() - w:6.2f} s")
    return out


def register_synthetic(tasks: int, methods: int) -> None:
    """Register the synthetic tasks (families synth.f0..f4) and methods, as a family's modules would."""
    from bench.api import NONNEGATIVE, UNBOUNDED, DatasetRef, Metric, Task, register_method, register_task

    class Synth(Task):
        dataset = DatasetRef("synth")
        metrics = (Metric("score", "max", range=UNBOUNDED), Metric("cost", "min", range=NONNEGATIVE))
        primary_metric = "score"

    for t in range(tasks):
        task = Synth(f"synth-{t:02d}")
        task.family = f"synth.f{t % 5}"
        register_task(task)
    fams = tuple(f"synth.f{i}" for i in range(5))
    for m in range(methods):
        register_method(f"m{m:02d}", fams)(lambda data, cfg, ctx: None)


def write_synthetic(root: Path, tasks: int, methods: int, seeds: int) -> int:
    from bench.config import config_hash
    from bench.records import dump_record, record_relpath, seal, Record
    from bench.seeding import cell_seed, data_seed

    rng = np.random.default_rng(0)
    n = 0
    for t in range(tasks):
        task = f"synth-{t:02d}"
        family = f"synth.f{t % 5}"
        data = rng.normal(0, 0.05, seeds)
        for m in range(methods):
            level = rng.uniform(0.3, 0.9)
            for s in range(seeds):
                method = f"m{m:02d}"
                config = {"task": task, "task_version": "1", "method": method, "seed_index": s, "smoke": False,
                          "task_config": {}, "method_config": {}}
                chash = config_hash(config)
                body = {"schema_version": 2, "task": task, "task_version": "1", "family": family, "method": method,
                        "method_kind": "method", "seed_index": s, "seed": cell_seed(task, method, s),
                        "data_seed": data_seed(task, s), "status": "ok",
                        "primary_metric": "score",
                        "metrics": {"score": {"value": float(level + data[s] + rng.normal(0, 0.01)),
                                              "direction": "max"},
                                    "cost": {"value": float(rng.uniform(0, 1)), "direction": "min"}},
                        "config": config, "config_hash": chash,
                        "dataset": {"id": "synth", "revision": None, "content_hash": "sha256:0"},
                        "provenance": {"git_sha": "0" * 40, "git_dirty": False, "packages": {}, "python": "3.11",
                                       "platform": "x", "hardware": {"cpu": "x", "cpu_count": 1, "gpu": None,
                                                                     "gpu_count": 0},
                                       "wall_time_s": 0.1, "peak_rss_mb": 1.0, "started_at": "2025-01-01T00:00:00Z",
                                       "source": {"method_file": None, "method_sha256": None, "task_file": None,
                                                  "task_sha256": None, "support_sha256": "0"}},
                        "error": None, "artifacts": {}}
                body = seal(body)
                rec = Record.model_validate(body)
                p = root / record_relpath(rec)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(dump_record(json.loads(json.dumps(body))))
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=25)
    ap.add_argument("--methods", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    from bench.registry import discover

    _timed("discover (import every family)", discover)
    register_synthetic(args.tasks, args.methods)
    with tempfile.TemporaryDirectory() as d:
        res = Path(d) / "results"
        n = write_synthetic(res, args.tasks, args.methods, args.seeds)
        print(f"{n} records in {args.tasks} tasks")
        from bench.tables import read_inputs, render_leaderboard

        inp = _timed("read + check records (intake)", lambda: read_inputs(res, root=Path(d)))
        assert not inp.rejected and len(inp.ranked) == n, inp.rejected[:3]
        text = _timed("tables + tests + render", lambda: render_leaderboard(inp))
        again = render_leaderboard(read_inputs(res, root=Path(d)))
        print(f"{len(text.splitlines())} lines; byte-identical on a second rebuild: {text == again}")


if __name__ == "__main__":
    main()
