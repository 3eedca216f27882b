"""The one validation path for everything that enters a leaderboard table.

`submit`, `validate`, `verify`, the leaderboard and the site all read records through this module, so a record is
judged the same way whichever route it came by (a `submit`, a pull request that adds files to results/, a local run).

What is checked (a record failing any check is *rejected*, listed with its reason, never ranked):
- the file: a regular file inside results/ (no symlink, FIFO or device), at most 1 MiB, strict JSON, strict types,
  intact seal, stored at the path its content implies (bench/records.py);
- against the registry (never trusting what the record says about itself): the task exists and the family matches;
  the method is registered (its code is in the repository), applies to the family, and the record's kind is the
  registry's kind; the metrics are exactly the task's, with the task's directions, each value inside the metric's
  declared range; the primary metric is the task's; the config has exactly the harness's keys, agrees with the
  record, re-validates against the task's and the method's typed configs unchanged, and hashes to config_hash; the
  seed and data seed are the ones derived from (task, method, seed index); smoke status and config agree;
- per row (task, version, method, config hash): seed indices are 0..n-1 (a record above a gap is rejected); a row does
  not mix code versions (schema 2 source hashes); a submission does not add seeds to a row the suite created.

Classification of the records that pass:
- ranked: status ok, current task version, schema 2, task config = the task's default protocol (its `params`, no
  overrides, not smoke);
- nonstandard: the same but another task config (shown in a separate, labelled table, never ranked with the default);
- excluded: smoke and failed records of the current version (counted, never ranked);
- history: records of a superseded task version, or of schema 1 (no code hashes): counted, never ranked or checked
  against today's registry.

Unregistered methods. A method whose code is not in the repository cannot be checked (its kind, its config, its
privileges are unknown) nor re-run by `dcai-bench verify`, so its records are rejected: a new method enters by pull
request with its code (one file in baselines/<family>/) and its records.
"""
from __future__ import annotations

import functools
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .config import build_config, canonical_json, config_hash
from .errors import BenchError, RecordError
from .records import (
    MAX_SEED_INDEX,
    SCHEMA_VERSION,
    Record,
    read_record,
    record_relpath,
    walk_results,
)
from .registry import DISCOVERY_ERRORS, METHODS, TASKS, discover
from .seeding import cell_seed, data_seed

CONFIG_KEYS = frozenset({"task", "task_version", "task_config", "method", "method_config", "seed_index", "smoke"})
UNRANKED = ("reference", "oracle")


@dataclass
class Intake:
    # pass every check, status ok, default protocol: the task's table (reference/oracle rows in it are shown, never
    # ranked: their kind is the registry's)
    ranked: list[Record] = field(default_factory=list)
    nonstandard: list[Record] = field(default_factory=list)  # pass every check; task config differs from the default
    history: list[Record] = field(default_factory=list)  # superseded task versions or schema 1: counted, never ranked
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path relative to the results root, reason)
    excluded: list[Record] = field(default_factory=list)  # smoke and failed records of current versions: counted

    @property
    def current(self) -> list[Record]:
        """Every record of a current task version that passed the checks (ranked, nonstandard, excluded)."""
        return self.ranked + self.nonstandard + self.excluded


def reason(e: RecordError) -> str:
    """One line: the field and the message of a RecordError, without the file (the caller shows the path)."""
    text = str(e)
    where = " ".join(x for x in (f"file {e.path}" if e.path else "", f"field '{e.field}'" if e.field else "") if x)
    msg = text[len(where) + 2:] if where and text.startswith(where + ": ") else text
    line = (f"field '{e.field}': " if e.field else "") + msg
    return " ".join(line.split())[:300]


@functools.lru_cache(maxsize=1024)
def _default_task_config(task: Any, version: str, params: str) -> str:
    return canonical_json(build_config(task.config_cls, dict(task.params), f"task config of '{task.name}'")
                          .model_dump(mode="json"))


def default_task_config(task: Any) -> dict[str, Any]:
    """The task's default protocol: its config resolved from `task.params`, no overrides, not smoke."""
    import json

    return json.loads(_default_task_config(task, task.version, canonical_json(task.params)))


@functools.lru_cache(maxsize=8192)
def _revalidates(kind: str, name: str, spec: Any, cfg_json: str) -> str | None:
    """None when the stored config re-validates against the typed config unchanged, else why not."""
    import json

    cfg = json.loads(cfg_json)
    try:
        got = build_config(spec.config_cls, cfg, f"{kind} config of '{name}'").model_dump(mode="json")
    except BenchError as e:
        return str(e)
    if canonical_json(got) != cfg_json:
        return f"{kind} config of '{name}' is not in resolved form (it would resolve to {canonical_json(got)[:200]})"
    return None


def is_current(rec: Record) -> bool:
    """A record of the task's current version and schema (checked against today's registry); else history."""
    task = TASKS._items.get(rec.task)
    return task is not None and rec.task_version == task.version and rec.schema_version >= SCHEMA_VERSION


def check_record(rec: Record, path: str, submission: bool = False) -> None:
    """Check a record of a current task version against the registry (see the module doc). Raises RecordError naming
    the file and the field. `submission=True` adds what a submission must also carry: status ok, a ranked kind, and a
    committed, clean code version."""
    discover()
    if submission and rec.status != "ok":
        raise RecordError(f"only status 'ok' records can be submitted (got '{rec.status}')", path=path, field="status")
    if rec.task not in TASKS:
        why = ""
        if DISCOVERY_ERRORS:
            why = f" (modules that failed to import here: {', '.join(sorted(DISCOVERY_ERRORS))[:200]})"
        raise RecordError(f"unknown task '{rec.task}'{why}", path=path, field="task")
    task = TASKS.get(rec.task)
    if rec.task_version != task.version:
        raise RecordError(f"task '{rec.task}' is at version {task.version}, record has {rec.task_version} (records of "
                          "a superseded version are history and never rank)", path=path, field="task_version")
    if rec.schema_version < SCHEMA_VERSION:
        raise RecordError(f"schema {rec.schema_version} records carry no code hashes and are read as history only "
                          f"(current schema {SCHEMA_VERSION})", path=path, field="schema_version")
    if rec.family != task.family:
        raise RecordError(f"task '{rec.task}' is in family '{task.family}'", path=path, field="family")
    if rec.method not in METHODS:
        raise RecordError(f"method '{rec.method}' is not registered: a new method enters by pull request with its code "
                          f"(baselines/<family>/{rec.method}.py), so that its kind and config are known and "
                          "`dcai-bench verify` can re-run it", path=path, field="method")
    method = METHODS.get(rec.method)
    if not method.applies_to(task.family):
        raise RecordError(f"method '{rec.method}' does not apply to family '{task.family}'", path=path, field="method")
    if rec.method_kind != method.kind:
        raise RecordError(f"method '{rec.method}' is registered with kind '{method.kind}' (the registry decides, "
                          "not the record)", path=path, field="method_kind")
    if rec.primary_metric != task.primary_metric:
        raise RecordError(f"primary metric of '{rec.task}' is '{task.primary_metric}'", path=path,
                          field="primary_metric")
    _check_metrics(rec, task, path)
    _check_config(rec, task, path)
    if rec.seed != cell_seed(rec.task, rec.method, rec.seed_index):
        raise RecordError(f"not the seed derived from (task, method, seed index {rec.seed_index}) "
                          f"({cell_seed(rec.task, rec.method, rec.seed_index)})", path=path, field="seed")
    if rec.data_seed != data_seed(rec.task, rec.seed_index):
        raise RecordError(f"not the data seed derived from (task, seed index {rec.seed_index}) "
                          f"({data_seed(rec.task, rec.seed_index)})", path=path, field="data_seed")
    if rec.status != "failed" and rec.dataset is None:
        raise RecordError("dataset fingerprint is required", path=path, field="dataset")
    if submission:
        if method.kind in UNRANKED:
            raise RecordError("reference/oracle rows come from the suite itself", path=path, field="method_kind")
        if not rec.provenance.git_sha:
            raise RecordError("the code version that produced the results is required", path=path,
                              field="provenance.git_sha")
        if rec.provenance.git_dirty is not False:
            raise RecordError("the results come from a tree with uncommitted code changes (git_dirty must be false: "
                              "commit the code, then run)", path=path, field="provenance.git_dirty")


def _check_metrics(rec: Record, task: Any, path: str) -> None:
    if rec.status == "failed":
        if rec.metrics:
            raise RecordError("a failed record carries no metrics", path=path, field="metrics")
        return
    want = {m.name: m for m in task.metrics}
    for name in sorted(set(want) | set(rec.metrics)):
        if name not in rec.metrics:
            raise RecordError(f"missing metric '{name}'", path=path, field=f"metrics.{name}")
        if name not in want:
            raise RecordError(f"task '{rec.task}' has no metric '{name}'", path=path, field=f"metrics.{name}")
        mv, m = rec.metrics[name], want[name]
        if mv.direction != m.direction:
            raise RecordError(f"direction must be '{m.direction}'", path=path, field=f"metrics.{name}.direction")
        if mv.value is not None:
            why = m.out_of_range(mv.value)
            if why:
                raise RecordError(f"{why} (declared range {list(m.range or (None, None))})", path=path,
                                  field=f"metrics.{name}.value")
    if rec.metrics[rec.primary_metric].value is None:
        raise RecordError("primary metric has no value", path=path, field=f"metrics.{rec.primary_metric}.value")


def _check_config(rec: Record, task: Any, path: str) -> None:
    cfg = rec.config
    if set(cfg) != CONFIG_KEYS:
        extra, missing = sorted(set(cfg) - CONFIG_KEYS), sorted(CONFIG_KEYS - set(cfg))
        raise RecordError(f"config keys must be {sorted(CONFIG_KEYS)} (unknown {extra}, missing {missing})"[:300],
                          path=path, field="config")
    for key in ("task", "task_version", "method", "seed_index"):
        if type(cfg[key]) is not type(getattr(rec, key)) or cfg[key] != getattr(rec, key):
            raise RecordError(f"config.{key} disagrees with the record's {key}", path=path, field=f"config.{key}")
    if not isinstance(cfg["smoke"], bool):
        raise RecordError("must be true or false", path=path, field="config.smoke")
    if rec.status == "smoke" and not cfg["smoke"]:
        raise RecordError("status 'smoke' needs config.smoke true", path=path, field="status")
    if rec.status == "ok" and cfg["smoke"]:
        raise RecordError("a smoke run (config.smoke true) has status 'smoke' and never ranks", path=path,
                          field="config.smoke")
    for kind, key, name in (("task", "task_config", rec.task), ("method", "method_config", rec.method)):
        if not isinstance(cfg[key], dict):
            raise RecordError("must be an object", path=path, field=f"config.{key}")
        spec = TASKS.get(name) if kind == "task" else METHODS.get(name)
        why = _revalidates(kind, name, spec, canonical_json(cfg[key]))
        if why:
            raise RecordError(why, path=path, field=f"config.{key}")
    if config_hash(cfg) != rec.config_hash:
        raise RecordError("does not match the hash of the stored config", path=path, field="config_hash")


def protocol_diff(rec: Record) -> dict[str, tuple[Any, Any]]:
    """Task-config keys where the record differs from the task's default protocol: key -> (record's, default)."""
    default = default_task_config(TASKS.get(rec.task))
    tc = rec.config.get("task_config", {})
    return {k: (tc.get(k), default.get(k)) for k in sorted(set(tc) | set(default)) if tc.get(k) != default.get(k)}


def classify(rec: Record, path: str) -> str:
    """'ranked', 'nonstandard', 'excluded' or 'history' for a record that passes its checks; raises RecordError."""
    if rec.task in TASKS and not is_current(rec):
        return "history"
    check_record(rec, path)
    if rec.status != "ok":
        return "excluded"
    return "nonstandard" if protocol_diff(rec) else "ranked"


# -- results directories ------------------------------------------------------------------------------------------
Item = tuple[str, "Record | RecordError"]  # (path relative to the results root, the record or why it is unreadable)


def read_items(results_dir: Path) -> list[Item]:
    """Every candidate record under results_dir as (relative path, Record or RecordError), sorted by path."""
    root = Path(results_dir)
    files, bad = walk_results(root)
    items: list[Item] = [(_rel(Path(e.path) if e.path else root, root), e) for e in bad]
    for p in files:
        rel = _rel(p, root)
        try:
            rec = read_record(p)
        except RecordError as e:
            items.append((rel, e))
            continue
        expected = record_relpath(rec).as_posix()
        if rel != expected:
            items.append((rel, RecordError(f"record stored at the wrong path (its content belongs at {expected})",
                                           path=rel)))
            continue
        items.append((rel, rec))
    return sorted(items, key=lambda it: it[0])


def _rel(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def intake_items(items: Iterable[Item]) -> Intake:
    """Classify (relative path, Record | RecordError) items: per-record checks, then the per-row rules."""
    discover()
    out = Intake()
    current: dict[tuple[str, str, str, str], list[tuple[str, Record, str]]] = defaultdict(list)
    for rel, rec in items:
        if isinstance(rec, RecordError):
            out.rejected.append((rel, reason(rec)))
            continue
        try:
            cls = classify(rec, rel)
        except RecordError as e:
            out.rejected.append((rel, reason(e)))
            continue
        if cls == "history":
            out.history.append(rec)
        else:
            current[(rec.task, rec.task_version, rec.method, rec.config_hash)].append((rel, rec, cls))
    for key in sorted(current):
        for rel, rec, cls in _row_rules(current[key], out.rejected):
            getattr(out, cls).append(rec)
    out.rejected.sort()
    return out


def _row_rules(row: list[tuple[str, Record, str]], rejected: list[tuple[str, str]]) -> list[tuple[str, Record, str]]:
    row = sorted(row, key=lambda t: t[1].seed_index)
    # a submission may not add seeds to a row the suite created
    origins = {r.origin for _, r, _ in row}
    if len(origins) > 1:
        keep = []
        for rel, r, cls in row:
            if r.origin == "submitted":
                rejected.append((rel, "a submitted record adds a seed to a row the suite created (same method and "
                                      "config, origin local); submissions re-submit whole rows of their own"))
            else:
                keep.append((rel, r, cls))
        row = keep
    # one code version per row (ok/smoke records; a failed record carries no numbers)
    code = {(r.provenance.source.method_sha256, r.provenance.source.task_sha256)
            for _, r, _ in row if r.status != "failed" and r.provenance.source is not None}
    if len(code) > 1:
        for rel, r, _ in row:
            rejected.append((rel, f"the row mixes {len(code)} versions of the method's or task's code (source hashes "
                                  "differ between seeds): re-run the whole row with --force"))
        return []
    # seed indices 0..n-1: records above the first gap are rejected
    present = {r.seed_index for _, r, _ in row}
    gap = next(i for i in range(MAX_SEED_INDEX + 1) if i not in present)
    keep = []
    for rel, r, cls in row:
        if r.seed_index > gap:
            rejected.append((rel, f"seed index {r.seed_index} without seed index {gap}: a row's seeds are 0..n-1"))
        else:
            keep.append((rel, r, cls))
    return keep


def intake(results_dir: Path) -> Intake:
    """What the leaderboard, site, verify and submit use: every record under results_dir, checked and classified."""
    return intake_items(read_items(Path(results_dir)))


# -- files given on the command line ------------------------------------------------------------------------------
def check_file(path: Path, submission: bool = True) -> Record:
    """Read (a symlink given explicitly is followed, its target must be a regular file) and check one record file;
    raises RecordError. History records (superseded version, schema 1) are refused: they cannot be submitted."""
    rec = read_record(Path(path), follow_symlinks=True)
    check_record(rec, str(path), submission=submission)
    return rec


def describe(rec: Record) -> str:
    diff = protocol_diff(rec)
    if not diff:
        return "default protocol"
    return "non-standard protocol: " + ", ".join(f"{k}={a!r} (default {b!r})" for k, (a, b) in diff.items())[:200]


def validate_command(files: list[str], out: Any = None, err: Any = None) -> int:
    """`dcai-bench validate FILE...`: every file is reported, whatever happens to another one. Exit 1 if any is
    invalid."""
    out, err = out or sys.stdout, err or sys.stderr
    bad = 0
    for f in files:
        try:
            rec = check_file(Path(f))
            print(f"ok      {f} ({describe(rec)})", file=out)
        except RecordError as e:
            bad += 1
            print(f"INVALID {f}: {reason(e)}", file=err)
        except Exception as e:  # noqa: BLE001 - never let one file stop the report on the others
            bad += 1
            print(f"INVALID {f}: could not be checked ({type(e).__name__}: {str(e)[:200]})", file=err)
    print(f"{len(files) - bad} valid, {bad} invalid", file=out)
    return 1 if bad else 0
