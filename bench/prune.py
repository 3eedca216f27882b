"""Stale records: what `dcai-bench prune` lists (dry run) and removes (`--apply`).

A record is stale when
- superseded:   its task version is not the registered task's current version (history of an older protocol);
- smoke:        it is a smoke record (never ranked);
- failed:       the cell failed (a rerun retries it anyway);
- config:       its stored config is not what the harness resolves for that cell today: re-resolving the record's task
                and method configs (its values as overrides) with the current code fails (a key was removed or renamed)
                or changes them (a key was added), so a rerun would write a different record;
- unregistered: its task or method is no longer registered.
Unreadable files (torn, edited, misplaced) are reported and left alone: they are evidence to inspect, not stale data.
"""
from __future__ import annotations

import os
from pathlib import Path


REASONS = ("superseded", "smoke", "failed", "config", "unregistered")


def why_stale(rec) -> str | None:  # noqa: ANN001 - a bench.records.Record
    """The reason a record is stale ('<reason>: <detail>'), or None when it is current."""
    from .config import config_hash
    from .registry import METHODS, TASKS

    if rec.task not in TASKS:
        return f"unregistered: task '{rec.task}' is not registered"
    if rec.method not in METHODS:
        return f"unregistered: method '{rec.method}' is not registered"
    task = TASKS.get(rec.task)
    if rec.task_version != task.version:
        return f"superseded: task version {rec.task_version} (current: {task.version})"
    if rec.status == "smoke":
        return "smoke: smoke record (never ranked)"
    if rec.status == "failed":
        from .conformance import first_line

        return f"failed: {first_line(rec.error)}"
    method = METHODS.get(rec.method)
    if not method.applies_to(task.family):
        return f"config: method '{rec.method}' no longer applies to family '{task.family}'"
    cfg = rec.config
    smoke = bool(cfg.get("smoke", False))
    stored_t, stored_m = cfg.get("task_config") or {}, cfg.get("method_config") or {}
    try:
        tcfg = _revalidate(task.config_cls, {**task.params, **(task.smoke_params() if smoke else {}), **stored_t})
        mcfg = _revalidate(method.config_cls, dict(stored_m))
    except ValueError as e:
        return f"config: its stored config no longer resolves ({e})"
    resolved = {"task": task.name, "task_version": task.version, "task_config": tcfg, "method": method.name,
                "method_config": mcfg, "seed_index": rec.seed_index, "smoke": smoke}
    if config_hash(resolved) != rec.config_hash:
        changed = sorted(f"{part.split('_')[0]}.{k}" for part, stored in (("task_config", stored_t),
                                                                          ("method_config", stored_m))
                         for k in set(resolved[part]) | set(stored)
                         if resolved[part].get(k, "<absent>") != stored.get(k, "<absent>"))
        return f"config: the current resolution differs in {', '.join(changed) or 'its hash'}"
    return None


def _revalidate(cls: type, values: dict) -> dict:
    """Validate stored (JSON) config values with the current config class, as JSON (lists stand for tuples)."""
    import json

    from pydantic import ValidationError

    from .config import format_validation_error

    try:
        return cls.model_validate_json(json.dumps(values)).model_dump(mode="json")
    except ValidationError as e:
        raise ValueError(format_validation_error(e, cls.__name__)) from None


def find_stale(results_dir: Path, only: set[str] | None = None
               ) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """(stale records with their reason, unreadable files with the problem), both sorted by path."""
    from .records import scan
    from .registry import discover

    discover()
    good, bad = scan(Path(results_dir))
    stale = []
    for path, rec in good:
        why = why_stale(rec)
        if why and (only is None or why.split(":")[0] in only):
            stale.append((path, why))
    return stale, [(Path(e.path or "?"), str(e)) for e in bad]


def apply(paths: list[Path], results_dir: Path) -> None:
    """Remove the records, then the directories they leave empty (never results_dir itself)."""
    root = Path(results_dir).resolve()
    for p in paths:
        Path(p).unlink()
        d = Path(p).resolve().parent
        while d != root and root in d.parents:
            try:
                os.rmdir(d)
            except OSError:
                break
            d = d.parent
