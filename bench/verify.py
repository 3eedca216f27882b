"""Verification by re-running: the protection a seal cannot give.

A record's seal (an unkeyed sha256) proves only that the file was not corrupted by accident: anyone can edit a number
and recompute it. What a leaderboard can check is whether the numbers come out of the code: `dcai-bench verify`
re-runs cells from the repository's code with the record's exact config (task config, method config, seed index; the
seeds derive from these) into a temporary directory, and compares every metric with the record's within the task's
`verify_tolerance` (absolute; 0 = exact, which deterministic CPU tasks meet).

    dcai-bench verify FILE... [--sample K]        # records (e.g. a submission): all of them, or a random sample of K
    dcai-bench verify --suite full                # the reproduction: every cell of the suite vs the committed records
    dcai-bench verify --task 'adc-*' --seeds 2    # a subset

results/ is never written, except results/VERIFIED.json: the outcome per verified cell, bound to the record's seal
(record_sha256), so that an edited or replaced record loses its mark. `verified_rows` turns it into the leaderboard's
verified / differs marks.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import random
import secrets
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import BenchError, ConfigError, RecordError
from .records import VERIFIED_FILE, Record, atomic_write_text, loads_strict, read_bytes_safely, record_relpath
from .registry import TASKS, discover

OUTCOMES = ("reproduced", "differs", "missing", "invalid", "error")
MAX_VERIFIED_BYTES = 64 << 20


@dataclass
class CellCheck:
    relpath: str
    task: str
    version: str
    method: str
    config_hash: str
    seed_index: int
    outcome: str  # one of OUTCOMES
    max_diff: float | None = None  # largest |difference| over the metrics (inf: a value against null)
    metric: str | None = None  # where the largest difference is
    detail: str = ""
    record_sha256: str | None = None
    tolerance: float = 0.0


@dataclass(frozen=True)
class RowVerification:
    checked: int
    reproduced: int
    differs: int

    @property
    def status(self) -> str:
        return "differs" if self.differs else ("verified" if self.checked else "unverified")


# -- re-running ------------------------------------------------------------------------------------------------------
def cell_of(rec: Record) -> Any:
    """The runner's Cell that reproduces a record's config exactly (the whole task and method configs as overrides)."""
    from .runner import Cell

    cfg = rec.config
    return Cell(rec.task, rec.method, rec.seed_index, bool(cfg.get("smoke")),
                tuple(sorted(cfg["task_config"].items())), tuple(sorted(cfg["method_config"].items())))


def compare(old: Record, new: Record, tol: float) -> tuple[bool, float, str | None, str]:
    """(within tolerance, largest |difference|, its metric, detail)."""
    if new.status != old.status:
        err = (new.error or "").strip().splitlines()
        return False, math.inf, None, f"status {old.status} in the record, {new.status} on re-run" + (
            f" ({err[0][:160]})" if err else "")
    worst, where = 0.0, None
    for name in sorted(set(old.metrics) | set(new.metrics)):
        a = old.metrics[name].value if name in old.metrics else None
        b = new.metrics[name].value if name in new.metrics else None
        if a is None and b is None:
            continue
        d = math.inf if (a is None or b is None) else abs(a - b)
        if d > worst or where is None:
            worst, where = d, name
    ok = worst <= tol
    detail = "" if worst == 0 else f"largest |diff| {worst:.3g} in {where}"
    code = []
    so, sn = old.provenance.source, new.provenance.source
    if so is not None and sn is not None:
        if so.method_sha256 != sn.method_sha256:
            code.append("method")
        if so.task_sha256 != sn.task_sha256:
            code.append("task")
    if code and not ok:
        detail += f" (the {' and '.join(code)} code changed since the record)"
    return ok, worst, where, detail


def rerun(records: list[Record], progress: bool = True) -> list[CellCheck]:
    """Re-run each record's cell into a temporary directory and compare. Never touches results/."""
    from tqdm.auto import tqdm

    from .config import config_hash
    from .records import read_record
    from .runner import run_cell

    discover()
    checks = []
    with tempfile.TemporaryDirectory(prefix="dcai-verify-") as tmp:
        bar = tqdm(records, desc="verify", unit="cell", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        for rec in bar:
            bar.set_postfix_str(f"{rec.task}/{rec.method}/s{rec.seed_index}", refresh=False)
            rel = record_relpath(rec).as_posix()
            task = TASKS._items.get(rec.task)
            tol = float(getattr(task, "verify_tolerance", 0.0) or 0.0) if task is not None else 0.0
            base = dict(relpath=rel, task=rec.task, version=rec.task_version, method=rec.method,
                        config_hash=rec.config_hash, seed_index=rec.seed_index, record_sha256=rec.record_sha256,
                        tolerance=tol)
            try:
                cell = cell_of(rec)
                *_, resolved = cell.resolve()
                if config_hash(resolved) != rec.config_hash:
                    raise ConfigError("the record's config no longer resolves to the same config hash here")
                _, path = run_cell(cell, Path(tmp), force=True)
                new = read_record(path)
            except (BenchError, KeyError, TypeError) as e:
                checks.append(CellCheck(**base, outcome="invalid", detail=f"cannot re-run: {str(e)[:200]}"))
                continue
            except Exception as e:  # noqa: BLE001 - one broken cell does not stop the others
                checks.append(CellCheck(**base, outcome="error", detail=f"{type(e).__name__}: {str(e)[:200]}"))
                continue
            ok, worst, where, detail = compare(rec, new, tol)
            checks.append(CellCheck(**base, outcome="reproduced" if ok else "differs", max_diff=worst, metric=where,
                                    detail=detail))
    return checks


# -- what to verify ---------------------------------------------------------------------------------------------------
def verify_files(files: list[Path], sample: int | None = None, sample_seed: int | None = None,
                 progress: bool = True, say=print) -> list[CellCheck]:
    """Check and re-run the records in `files` (or a random sample of `sample` of them)."""
    from .validate import check_file, reason

    files = [Path(f) for f in files]
    if sample is not None:
        if sample < 1:
            raise ConfigError(f"--sample must be at least 1, got {sample}")
        if sample < len(files):
            seed = sample_seed if sample_seed is not None else secrets.randbits(32)
            files = sorted(random.Random(seed).sample(files, sample))
            say(f"verifying a random sample of {sample} file(s) (sample seed {seed}; --sample-seed {seed} repeats it)")
    from .records import read_record

    checks, todo = [], []
    for f in files:
        try:
            todo.append(check_file(f, submission=False))
            continue
        except RecordError as e:
            detail = reason(e)
        except Exception as e:  # noqa: BLE001
            detail = f"{type(e).__name__}: {e}"[:200]
        try:  # name the task when the file is a readable record, for the per-task report
            r = read_record(f, follow_symlinks=True)
            who = (r.task, r.task_version, r.method, r.config_hash, r.seed_index)
        except Exception:  # noqa: BLE001
            who = ("(unreadable files)", "-", "?", "", -1)
        checks.append(CellCheck(str(f), *who, outcome="invalid", detail=detail))
    return checks + rerun(todo, progress=progress)


def verify_suite(results_dir: Path, suite: str | None = None, tasks: list[str] | None = None,
                 methods: list[str] | None = None, seeds: int | None = None, progress: bool = True) -> list[CellCheck]:
    """Re-run the planned cells of a suite / tasks and compare with the records in results_dir."""
    from .runner import plan
    from .validate import intake

    if suite == "smoke":
        raise ConfigError("smoke records never rank and are not committed: verify --suite full, extended or paper")
    if seeds is not None and seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    cells = plan(tasks=tasks, methods=methods, seeds=seeds, suite=suite)
    got = intake(results_dir)
    by_path: dict[str, Record] = {record_relpath(r).as_posix(): r for r in got.current + got.history}
    rejected = dict(got.rejected)
    checks, todo = [], []
    for c in cells:
        rel = Path(c.record_path(Path(results_dir))).relative_to(Path(results_dir)).as_posix()
        task, method = TASKS.get(c.task), c.method
        base = dict(relpath=rel, task=c.task, version=task.version, method=method, config_hash="",
                    seed_index=c.seed_index)
        if rel in rejected:
            checks.append(CellCheck(**base, outcome="invalid", detail=f"the record is rejected: {rejected[rel]}"))
        elif rel not in by_path:
            checks.append(CellCheck(**base, outcome="missing", detail="no record in results/ for this cell"))
        else:
            todo.append(by_path[rel])
    return checks + rerun(todo, progress=progress)


# -- outcomes ---------------------------------------------------------------------------------------------------------
def _load_verified(results_dir: Path) -> dict[str, dict[str, Any]]:
    p = Path(results_dir) / VERIFIED_FILE
    if not p.exists():
        return {}
    try:
        body = loads_strict(read_bytes_safely(p, limit=MAX_VERIFIED_BYTES).decode("utf-8"), str(p))
    except (RecordError, UnicodeDecodeError):
        return {}
    cells = body.get("cells") if isinstance(body, dict) else None
    if not isinstance(cells, dict):
        return {}
    return {k: v for k, v in cells.items() if isinstance(v, dict) and isinstance(v.get("record_sha256"), str)
            and v.get("outcome") in ("reproduced", "differs")}


def record_outcomes(results_dir: Path, checks: Iterable[CellCheck], verifier_sha: str | None = None) -> int:
    """Merge the outcomes of checks whose record is the one in results_dir (same seal) into results/VERIFIED.json;
    entries whose record changed or vanished are dropped. Returns the number of cells recorded."""
    from .provenance import git_state
    from .validate import intake

    results_dir = Path(results_dir)
    got = intake(results_dir)
    current = {record_relpath(r).as_posix(): r.record_sha256 for r in got.current}
    cells = {k: v for k, v in _load_verified(results_dir).items() if current.get(k) == v["record_sha256"]}
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    sha = verifier_sha or git_state().get("git_sha")
    n = 0
    for c in checks:
        if c.outcome in ("reproduced", "differs") and current.get(c.relpath) == c.record_sha256:
            cells[c.relpath] = {"record_sha256": c.record_sha256, "outcome": c.outcome,
                                "max_abs_diff": None if c.max_diff is None or math.isinf(c.max_diff) else c.max_diff,
                                "tolerance": c.tolerance, "verified_at": now, "verifier_git_sha": sha}
            n += 1
    if n or (results_dir / VERIFIED_FILE).exists():
        text = json.dumps({"schema": 1, "about": "outcomes of `dcai-bench verify` (re-runs), bound to each record's "
                           "record_sha256; written by maintainers, never by hand", "cells": cells},
                          sort_keys=True, indent=1, allow_nan=False) + "\n"
        atomic_write_text(results_dir / VERIFIED_FILE, text)
    return n


def verified_rows(results_dir: Path, records: list[Record] | None = None) -> dict[tuple[str, str, str, str],
                                                                                   RowVerification]:
    """(task, version, method, config hash) -> RowVerification, from results/VERIFIED.json entries whose seal matches
    the record now in results_dir (pass `records`, e.g. Intake.ranked + Intake.nonstandard, to avoid a re-scan).
    Rows absent from the dict are unverified."""
    if records is None:
        from .validate import intake

        got = intake(results_dir)
        records = got.ranked + got.nonstandard
    entries = _load_verified(results_dir)
    if not entries:
        return {}
    counts: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        e = entries.get(record_relpath(r).as_posix())
        if e is None or e["record_sha256"] != r.record_sha256:
            continue
        c = counts[(r.task, r.task_version, r.method, r.config_hash)]
        c[0] += 1
        c[1 if e["outcome"] == "reproduced" else 2] += 1
    return {k: RowVerification(*v) for k, v in sorted(counts.items())}


# -- reporting --------------------------------------------------------------------------------------------------------
def _fmt_diff(d: float | None) -> str:
    if d is None:
        return "—"
    if math.isinf(d):
        return "value vs null"
    return "0" if d == 0 else f"{d:.3g}"


def summarize(checks: list[CellCheck]) -> list[dict[str, Any]]:
    by_task: dict[tuple[str, str], list[CellCheck]] = defaultdict(list)
    for c in checks:
        by_task[(c.task, c.version)].append(c)
    rows = []
    for (task, version), cs in sorted(by_task.items()):
        n = {o: sum(c.outcome == o for c in cs) for o in OUTCOMES}
        compared = [c for c in cs if c.max_diff is not None]
        worst = max(compared, key=lambda c: c.max_diff, default=None)
        verdict = ("differs" if n["differs"] or n["error"] or n["invalid"] else
                   "reproduced" if n["reproduced"] else "not verified")
        rows.append({"task": task, "version": version, "cells": len(cs), **n, "verdict": verdict,
                     "max abs diff": _fmt_diff(worst.max_diff if worst else None),
                     "where": f"{worst.method}/s{worst.seed_index} {worst.metric}" if worst and worst.max_diff else ""})
    return rows


def report(checks: list[CellCheck], out: Any = None) -> int:
    """Print per task reproduced / differs (largest difference), the problems, and a results table. Returns the exit
    code: 1 on a difference, an invalid record or an error, or when nothing could be compared."""
    from tabulate import tabulate

    out = out or sys.stdout
    rows = summarize(checks)
    for r in rows:
        line = f"{r['task']} (v{r['version']}): {r['verdict']}"
        line += f" — {r['reproduced']}/{r['cells']} cells reproduced, largest |diff| {r['max abs diff']}"
        if r["where"]:
            line += f" ({r['where']})"
        print(line, file=out)
    problems = [c for c in checks if c.outcome not in ("reproduced",)]
    for c in problems[:50]:
        print(f"  {c.outcome.upper():10s} {c.relpath}: {c.detail}", file=out)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more", file=out)
    cols = ["task", "version", "cells", "reproduced", "differs", "missing", "invalid", "error", "max abs diff"]
    print(file=out)
    print(tabulate([[r[c] for c in cols] for r in rows], headers=cols, tablefmt="github"), file=out)
    bad = sum(c.outcome in ("differs", "invalid", "error") for c in checks)
    compared = sum(c.outcome in ("reproduced", "differs") for c in checks)
    print(f"\n{compared} cell(s) re-run and compared: {sum(c.outcome == 'reproduced' for c in checks)} reproduced, "
          f"{sum(c.outcome == 'differs' for c in checks)} differ; {sum(c.outcome == 'missing' for c in checks)} "
          f"without a record; {sum(c.outcome in ('invalid', 'error') for c in checks)} invalid or failing", file=out)
    return 1 if bad or not compared else 0


def verify_command(args: Any, results_dir: Path) -> int:
    """`dcai-bench verify` (see the module doc)."""
    progress = not getattr(args, "quiet", False)
    if args.files and (args.suite or args.task):
        raise ConfigError("give record files, or --suite/--task, not both")
    if args.files:
        checks = verify_files(args.files, sample=args.sample, sample_seed=args.sample_seed, progress=progress)
    elif args.suite or args.task:
        if args.sample is not None:
            raise ConfigError("--sample applies to record files")
        checks = verify_suite(results_dir, suite=args.suite, tasks=args.task, methods=args.method, seeds=args.seeds,
                              progress=progress)
    else:
        raise ConfigError("nothing to verify: give record files, --suite full, or --task GLOB")
    code = report(checks)
    if not args.no_record:
        n = record_outcomes(results_dir, checks)
        if n:
            print(f"recorded {n} outcome(s) in {Path(results_dir) / VERIFIED_FILE}")
    return code
