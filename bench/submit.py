"""Validating and submitting result records from outside (a new method's results).

`validate` checks each file: JSON, schema, checksum, provenance, that the task exists at that version, that the
metrics are exactly the task's with the right directions, status ok, and that the config hash matches the stored
config. `submit` validates every file first and refuses the whole batch on any problem (naming file and field) or
on a duplicate (same cell already in results/ or twice in the batch); only then are the records copied in (atomic
writes) and the leaderboard rebuilt. On rejection nothing in results/ or leaderboard.md changes.
"""
from __future__ import annotations

import json
from pathlib import Path

from .config import config_hash
from .errors import RecordError
from .leaderboard import rebuild
from .records import Record, atomic_write_text, dump_record, read_record, record_relpath, seal
from .registry import TASKS, discover


def validate_record(rec: Record, path: str) -> None:
    discover()
    if rec.task not in TASKS:
        raise RecordError(f"unknown task '{rec.task}'", path=path, field="task")
    task = TASKS.get(rec.task)
    if rec.task_version != task.version:
        raise RecordError(f"task '{rec.task}' is at version {task.version}, record has {rec.task_version}",
                          path=path, field="task_version")
    if rec.family != task.family:
        raise RecordError(f"task '{rec.task}' is in family '{task.family}'", path=path, field="family")
    if rec.status != "ok":
        raise RecordError(f"only status 'ok' records can be submitted (got '{rec.status}')", path=path, field="status")
    if rec.method_kind in ("reference", "oracle"):
        raise RecordError("reference/oracle rows come from the suite itself", path=path, field="method_kind")
    if rec.primary_metric != task.primary_metric:
        raise RecordError(f"primary metric of '{rec.task}' is '{task.primary_metric}'", path=path, field="primary_metric")
    want = {m.name: m.direction for m in task.metrics}
    got = {k: v.direction for k, v in rec.metrics.items()}
    for name in sorted(set(want) | set(got)):
        if name not in got:
            raise RecordError(f"missing metric '{name}'", path=path, field=f"metrics.{name}")
        if name not in want:
            raise RecordError(f"task '{rec.task}' has no metric '{name}'", path=path, field=f"metrics.{name}")
        if got[name] != want[name]:
            raise RecordError(f"direction must be '{want[name]}'", path=path, field=f"metrics.{name}.direction")
    if rec.metrics[rec.primary_metric].value is None:
        raise RecordError("primary metric has no value", path=path, field=f"metrics.{rec.primary_metric}.value")
    for key in ("task", "task_version", "method", "seed_index"):
        if rec.config.get(key) != getattr(rec, key):
            raise RecordError(f"config.{key} disagrees with the record's {key}", path=path, field=f"config.{key}")
    if rec.config.get("smoke"):
        raise RecordError("smoke runs are never ranked and cannot be submitted", path=path, field="config.smoke")
    if config_hash(rec.config) != rec.config_hash:
        raise RecordError("does not match the hash of the stored config", path=path, field="config_hash")
    if not rec.provenance.git_sha:
        raise RecordError("the code version that produced the results is required", path=path, field="provenance.git_sha")
    if rec.dataset is None:
        raise RecordError("dataset fingerprint is required", path=path, field="dataset")


def validate_files(files: list[Path]) -> list[tuple[Path, Record]]:
    out = []
    for f in files:
        rec = read_record(Path(f))
        validate_record(rec, str(f))
        out.append((Path(f), rec))
    return out


def submit(files: list[Path], results_dir: Path, leaderboard: Path) -> list[Path]:
    """All-or-nothing: returns the written paths, or raises RecordError with nothing changed."""
    checked = validate_files(files)
    seen: dict[tuple, str] = {}
    targets = []
    for f, rec in checked:
        if rec.key in seen:
            raise RecordError(f"duplicate of {seen[rec.key]} in the same submission (same task, version, method, "
                              "config, seed index)", path=str(f), field="seed_index")
        seen[rec.key] = str(f)
        target = Path(results_dir) / record_relpath(rec)
        if target.exists():
            raise RecordError(f"a record for this cell already exists: {target}", path=str(f), field="seed_index")
        targets.append((target, rec))
    written = []
    for target, rec in targets:
        body = rec.model_dump(mode="json")
        body["origin"] = "submitted"
        atomic_write_text(target, dump_record(seal(body)))
        written.append(target)
    rebuild(results_dir, leaderboard)
    return written


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
