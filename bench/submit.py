"""Submitting result records from outside (a new setting of a registered method, re-run by its author).

`submit` is all or nothing:
1. every file passes bench.validate.check_file (the one validation path, with the submission extras: status ok, a
   ranked kind, committed clean code) — the first problem refuses the batch, naming file and field;
2. batch rules: no cell twice; each row of the batch (method + config hash) has seed indices 0..n-1; a batch may not
   add seeds to a row that already exists in results/ (whoever made it) unless it re-submits that whole row (every
   seed index the row has), which then replaces it;
3. the new results/ and leaderboard are built in memory (the staged records go through the same intake as the
   leaderboard's) and must render, with every submitted record accepted;
4. only then are the files written: every record and the leaderboard are staged as fsynced temp files, then renamed
   into place; if anything fails on the way, what was renamed is rolled back. results/ and leaderboard.md are left
   as they were on any refusal or error.

What a submission proves: nothing about the numbers by itself (the seal is an unkeyed hash anyone can recompute).
`dcai-bench verify FILE...` re-runs cells from the submitted method's code (which must be in the repository: an
unregistered method is refused) and compares; the leaderboard marks rows verified once the maintainers have done so.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from .errors import RecordError
from .records import Record, check_inside, commit_staged, dump_record, record_relpath, seal, stage_text
from .validate import Intake, check_file, intake_items, read_items


def validate_record(rec: Record, path: str) -> None:
    """Kept for callers of the old API: the submission checks of one record (bench.validate.check_record)."""
    from .validate import check_record

    check_record(rec, path, submission=True)


def validate_files(files: list[Path]) -> list[tuple[Path, Record]]:
    return [(Path(f), check_file(Path(f))) for f in files]


def _row_key(rec: Record) -> tuple[str, str, str, str]:
    return (rec.task, rec.task_version, rec.method, rec.config_hash)


def plan_submission(files: list[Path], results_dir: Path) -> tuple[list[tuple[Path, Record]], Intake, list[str]]:
    """Check a batch against results_dir without writing anything. Returns (target path, submitted record) pairs,
    the Intake of results/ as it would be afterwards, and notes (rows replaced). Raises RecordError."""
    results_dir = Path(results_dir)
    checked = validate_files(files)
    seen: dict[tuple, str] = {}
    rows: dict[tuple, list[tuple[Path, Record]]] = defaultdict(list)
    for f, rec in checked:
        if rec.key in seen:
            raise RecordError(f"duplicate of {seen[rec.key]} in the same submission (same task, version, method, "
                              "config, seed index)", path=str(f), field="seed_index")
        seen[rec.key] = str(f)
        rows[_row_key(rec)].append((f, rec))
    existing = read_items(results_dir)
    by_row: dict[tuple, set[int]] = defaultdict(set)
    for rel, rec in existing:
        if isinstance(rec, Record):
            by_row[_row_key(rec)].add(rec.seed_index)
    notes = []
    for key, members in rows.items():
        have = by_row.get(key)
        if not have:
            continue
        mine = {r.seed_index for _, r in members}
        if not have <= mine:
            f = members[0][0]
            raise RecordError(f"results/ already has a row for {key[2]} with this config (seed indices "
                              f"{sorted(have)[:20]}): a submission may not add seeds to an existing row; re-submit the "
                              f"whole row (seeds 0..{max(have)} at least) to replace it", path=str(f), field="seed_index")
        notes.append(f"replaces the row {key[0]} v{key[1]} {key[2]} (config {key[3][:12]}, {len(have)} seed(s))")
    for key, members in rows.items():
        idx = sorted(r.seed_index for _, r in members)
        if idx != list(range(len(idx))):
            missing = sorted(set(range(max(idx) + 1)) - set(idx))
            f = next(f for f, r in members if r.seed_index == max(idx))
            raise RecordError(f"a row's seeds are 0..n-1: the batch has seed indices {idx[:20]} for {key[2]} (config "
                              f"{key[3][:12]}), missing {missing[:20]}", path=str(f), field="seed_index")
    targets: list[tuple[Path, Record]] = []
    staged: dict[str, Record] = {}
    for f, rec in checked:
        body = rec.model_dump(mode="json")
        body["origin"] = "submitted"
        new = Record.model_validate(seal(body))
        rel = record_relpath(new).as_posix()
        target = results_dir / rel
        check_inside(results_dir, target)
        targets.append((target, new))
        staged[rel] = new
    replaced_rows = {k for k in rows if k in by_row}
    items = [(rel, rec) for rel, rec in existing
             if rel not in staged and not (isinstance(rec, Record) and _row_key(rec) in replaced_rows)]
    after = intake_items(items + sorted(staged.items()))
    refused = {rel: why for rel, why in after.rejected if rel in staged}
    if refused:
        rel, why = sorted(refused.items())[0]
        f = next(f for f, r in checked if record_relpath(r).as_posix() == rel)
        raise RecordError(f"would be rejected by the leaderboard: {why}", path=str(f))
    stale = [results_dir / rel for rel, rec in existing
             if rel not in staged and isinstance(rec, Record) and _row_key(rec) in replaced_rows]
    if stale:  # a replaced row's old seeds beyond the new ones cannot exist (the batch covers every index), but be safe
        raise RecordError(f"internal: replaced row keeps {len(stale)} old file(s)", path=str(stale[0]))
    return targets, after, notes


def submit(files: list[Path], results_dir: Path, leaderboard: Path, notes: list[str] | None = None) -> list[Path]:
    """All-or-nothing: returns the written paths, or raises RecordError / OSError with nothing changed. `notes`
    receives what the batch replaces."""
    from .leaderboard import render_intake

    results_dir = Path(results_dir)
    targets, after, what = plan_submission(files, results_dir)
    if notes is not None:
        notes.extend(what)
    text = render_intake(after, results_dir)  # builds and renders the new tables in memory: a crash changes nothing
    writes = [(t, dump_record(rec.model_dump(mode="json"))) for t, rec in targets] + [(Path(leaderboard), text)]
    _write_all(writes)
    return [t for t, _ in targets]


def _write_all(writes: list[tuple[Path, str]]) -> None:
    """Stage every file, then rename each into place; on any failure, restore what was there before."""
    staged: list[tuple[Path, Path, bytes | None]] = []  # (temp, target, previous content or None)
    created_dirs: list[Path] = []
    try:
        for target, text in writes:
            for parent in reversed(target.parents):
                if not parent.exists():
                    created_dirs.append(parent)
            old = target.read_bytes() if target.exists() else None
            staged.append((stage_text(target, text), target, old))
    except BaseException:
        for tmp, _, _ in staged:
            _unlink(tmp)
        _rmdirs(created_dirs)
        raise
    done: list[tuple[Path, bytes | None]] = []
    try:
        for tmp, target, old in staged:
            commit_staged(tmp, target)
            done.append((target, old))
    except BaseException:
        for target, old in reversed(done):
            try:
                if old is None:
                    _unlink(target)
                else:
                    rollback = stage_text(target, old)
                    commit_staged(rollback, target)
            except OSError:  # pragma: no cover - best effort; the original error is what matters
                pass
        for tmp, _, _ in staged:
            _unlink(tmp)
        _rmdirs(created_dirs)
        raise


def _unlink(p: Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def _rmdirs(dirs: list[Path]) -> None:
    for d in sorted(set(dirs), key=lambda p: len(p.parts), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass


def submit_command(files: list[str], results_dir: Path, leaderboard: Path, dry_run: bool = False) -> int:
    if dry_run:
        targets, after, notes = plan_submission([Path(f) for f in files], results_dir)
        for t, _ in targets:
            print(f"would add {t}")
        for n in notes:
            print(f"would {n}")
        return 0
    notes: list[str] = []
    written = submit([Path(f) for f in files], results_dir, leaderboard, notes=notes)
    for n in notes:
        print(n)
    for p in written:
        print(f"added {p}")
    print(f"leaderboard rebuilt: {leaderboard}")
    print("the numbers are not verified yet: maintainers re-run a sample with `dcai-bench verify FILE... --sample K`")
    return 0


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
