"""The runner: plans cells (task x method x seed index), runs each one, writes its record.

A cell whose record already exists (same path = same task, version, method, config hash, seed index) with status ok
or smoke is skipped (resume); `force=True` reruns it. A failing cell is recorded with status `failed` and the error,
and the sweep goes on. `run_cell` is a pure function of the cell and the results directory, so executors (serial,
ray, slurm) can run cells anywhere and produce identical records.
"""
from __future__ import annotations

import datetime as _dt
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import paths
from .api import UNRANKED_KINDS, Context, MethodSpec, Task, methods_for  # noqa: F401
from .config import build_config, config_hash
from .errors import BenchError, ConfigError
from .contract import CONTRACTS, ContractError
from .provenance import PeakMemory, environment, source_hashes
from .records import SCHEMA_VERSION, RecordError, read_record, relpath_for, write_record
from .registry import METHODS, TASKS, discover, discover_for
from .seeding import cell_seed, data_seed, seed_everything

DEFAULT_RESULTS = Path(os.environ.get("DCAI_RESULTS_DIR", Path(__file__).resolve().parent.parent / "results"))


@dataclass(frozen=True)
class Cell:
    task: str
    method: str
    seed_index: int
    smoke: bool = False
    task_overrides: tuple[tuple[str, Any], ...] = ()
    method_overrides: tuple[tuple[str, Any], ...] = ()

    def resolve(self) -> tuple[Task, MethodSpec, Any, Any, dict[str, Any]]:
        """Look up the task and method, build the typed configs, and the resolved config dict (hashed, stored)."""
        task: Task = TASKS.get(self.task)
        method: MethodSpec = METHODS.get(self.method)
        if not method.applies_to(task.family):
            raise ConfigError(
                f"method '{method.name}' (families {list(method.family)}) does not apply to task '{task.name}' "
                f"(family '{task.family}')"
            )
        if task.family in CONTRACTS:
            try:
                CONTRACTS.get(task.family).check_privileges(method.name, method.kind, method.privileges)
            except ContractError as e:
                raise ConfigError(str(e)) from None
        elif method.privileges:
            raise ConfigError(f"method '{method.name}' declares privileges {sorted(method.privileges)} but family "
                              f"'{task.family}' has no contract that offers any")
        tvals = dict(task.params)
        if self.smoke:
            tvals.update(task.smoke_params())
        tvals.update(dict(self.task_overrides))
        tcfg = build_config(task.config_cls, tvals, f"task config of '{task.name}'")
        mcfg = build_config(method.config_cls, dict(self.method_overrides), f"method config of '{method.name}'")
        resolved = {
            "task": task.name,
            "task_version": task.version,
            "task_config": tcfg.model_dump(mode="json"),
            "method": method.name,
            "method_config": mcfg.model_dump(mode="json"),
            "seed_index": self.seed_index,
            "smoke": self.smoke,
        }
        return task, method, tcfg, mcfg, resolved

    def record_path(self, results_dir: Path) -> Path:
        task, method, _, _, resolved = self.resolve()
        return Path(results_dir) / relpath_for(task.name, task.version, method.name, config_hash(resolved), self.seed_index)


def _utcnow() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        return "cpu"


def run_cell(cell: Cell, results_dir: Path = DEFAULT_RESULTS, force: bool = False, wandb_project: str | None = None,
             executor: str = "serial", cache_dir: Path | None = None) -> tuple[str, Path]:
    """Run one cell and write its record. Returns (outcome, path); outcome is 'skipped', 'ok', 'smoke' or 'failed'.

    Config errors (unknown key, wrong type, method not applicable) raise before anything is written.
    """
    discover_for(tasks=[cell.task], methods=[cell.method])
    task, method, tcfg, mcfg, resolved = cell.resolve()
    chash = config_hash(resolved)
    path = Path(results_dir) / relpath_for(task.name, task.version, method.name, chash, cell.seed_index)
    if path.exists() and not force:
        try:
            old = read_record(path)
            if old.status in ("ok", "smoke") and old.config_hash == chash:
                return "skipped", path
        except RecordError:
            pass  # torn or invalid: rerun and replace it

    seed = cell_seed(task.name, method.name, cell.seed_index)
    dseed = data_seed(task.name, cell.seed_index)
    run = _wandb_init(wandb_project, resolved, f"{task.name}/{method.name}/s{cell.seed_index}") if wandb_project else None
    ctx = Context(task=task.name, method=method.name, seed_index=cell.seed_index, seed=seed, data_seed=dseed,
                  smoke=cell.smoke, device=_device(),
                  cache_dir=paths.cache_dir(cache_dir),
                  _logger=(lambda m, s: run.log(m, step=s)) if run else None)
    started = _utcnow()
    t0 = time.perf_counter()
    metrics: dict[str, Any] = {}
    dataset = None
    error = None
    with PeakMemory() as mem:
        try:
            seed_everything(dseed)
            data = task.load(tcfg, ctx)
            dataset = task.fingerprint(data, tcfg)
            seed_everything(seed)
            output = task.execute(method, data, mcfg, tcfg, ctx)
            metrics = task.check_metrics(task.evaluate(data, output, tcfg, ctx))
        except Exception as e:  # noqa: BLE001 - recorded as a failed cell, the sweep goes on
            error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"
    wall = time.perf_counter() - t0
    status = "failed" if error else ("smoke" if cell.smoke else "ok")
    body = {
        "schema_version": SCHEMA_VERSION,
        "task": task.name,
        "task_version": task.version,
        "family": task.family,
        "method": method.name,
        "method_kind": method.kind,
        "seed_index": cell.seed_index,
        "seed": seed,
        "data_seed": dseed,
        "status": status,
        "primary_metric": task.primary_metric,
        "metrics": {m.name: {"value": metrics.get(m.name), "direction": m.direction} for m in task.metrics}
        if not error else {},
        "config": resolved,
        "config_hash": chash,
        "dataset": dataset,
        "provenance": {
            **environment(),
            "wall_time_s": round(wall, 4),
            "peak_rss_mb": round(mem.peak_rss_mb, 1),
            "peak_gpu_mb": round(mem.peak_gpu_mb, 1) if mem.peak_gpu_mb is not None else None,
            "started_at": started,
            "executor": executor,
            "source": source_hashes(method.source_file, task.source_file),
        },
        "error": error,
        "origin": "local",
        "artifacts": ctx.artifacts,
    }
    path = write_record(results_dir, body)
    if run is not None:
        run.summary.update({f"final/{k}": v for k, v in metrics.items() if v is not None})
        run.summary["status"] = status
        run.finish()
    return status, path


def _wandb_init(project: str, config: dict[str, Any], name: str) -> Any:
    import wandb

    if "WANDB_MODE" not in os.environ and not os.environ.get("WANDB_API_KEY"):
        os.environ["WANDB_MODE"] = "offline"  # works without login; `wandb sync` later
    return wandb.init(project=project, config=config, name=name, reinit="finish_previous",
                      dir=os.environ.get("WANDB_DIR", str(Path.home() / ".cache" / "dcai-bench")))


# -- planning ----------------------------------------------------------------------------------------------------
SUITES = ("smoke", "full", "extended", "paper")


def plan(tasks: Iterable[str] | None = None, methods: Iterable[str] | None = None, seeds: int | None = None,
         suite: str | None = None, smoke: bool = False,
         task_overrides: dict[str, Any] | None = None, method_overrides: dict[str, Any] | None = None,
         per_method_overrides: dict[str, dict[str, Any]] | None = None) -> list[Cell]:
    """Cells for the chosen tasks (names or globs) x applicable methods (names or globs) x seed indices.

    suite='smoke'    -> every task in the smoke suite, 1 seed, smoke sizes, status 'smoke' (never ranked).
    suite='full'     -> every task in the full suite (the embedded default; hours on 2 cores) with its default
                        seed count.
    suite='extended' -> the full suite plus the heavier tasks marked 'extended' (e.g. real-data GSM8K SFT).
    suite='paper'    -> the pretrained-model tier of the LM families (tasks marked 'paper').
    Seeds: `seeds` if given; else 1 for smoke; else, in the full suite, the task's `full_suite_seeds` when it sets
    fewer than its protocol's `default_seeds`; else `default_seeds`.
    Overrides: `task_overrides` apply to every task, `method_overrides` to every selected method (each must have
    every key), `per_method_overrides[name]` to that method only (it must be among the selected methods).
    """
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise ConfigError(f"seeds must be a whole number >= 1, got {seeds!r}")
    exact = lambda pats: [p for p in pats or [] if not any(c in p for c in "*?[")]  # noqa: E731
    if suite is None and tasks and len(exact(tasks)) == len(list(tasks)):
        discover_for(tasks=exact(tasks), methods=exact(methods))  # only these tasks' families are imported
    else:
        discover()
    if suite is not None:
        if suite not in SUITES:
            raise ConfigError(f"unknown suite '{suite}' (choose {' or '.join(SUITES)})")
        smoke = smoke or suite == "smoke"
        wanted = {"full", "extended"} if suite == "extended" else {suite}
        task_names = [n for n, t in TASKS.items() if wanted & set(t.suites)]
    else:
        task_names = []
    for pat in tasks or []:
        task_names += [n for n in TASKS.match(pat) if n not in task_names]
    if not task_names:
        raise ConfigError("nothing to run: give --task or --suite")
    method_filter: set[str] | None = None
    if methods:
        method_filter = set()
        for pat in methods:
            method_filter.update(METHODS.match(pat))
    cells: list[Cell] = []
    tov = tuple(sorted((task_overrides or {}).items()))
    per_method = per_method_overrides or {}
    for name in per_method:
        if name not in METHODS:
            discover()  # a method of another family: its registration, or an error with the closest name
            METHODS.get(name)

    def mov(m: str) -> tuple[tuple[str, Any], ...]:
        return tuple(sorted({**(method_overrides or {}), **per_method.get(m, {})}.items()))

    for tname in sorted(task_names):
        task = TASKS.get(tname)
        applicable = [m.name for m in methods_for(task)]
        chosen = applicable if method_filter is None else [m for m in applicable if m in method_filter]
        if method_filter is not None and tasks and not chosen:
            raise ConfigError(f"none of the methods {sorted(method_filter)} applies to task '{tname}' "
                              f"(family '{task.family}': {applicable})")
        if seeds is not None:
            n = seeds
        elif smoke:
            n = 1
        elif suite == "full" and task.full_suite_seeds:
            n = min(task.full_suite_seeds, task.default_seeds)
        else:
            n = task.default_seeds
        for m in chosen:
            for i in range(n):
                cells.append(Cell(tname, m, i, smoke, tov, mov(m)))
    selected = {c.method for c in cells}
    unused = sorted(set(per_method) - selected)
    if unused:
        raise ConfigError(f"config override for method '{unused[0]}', which is not among the selected methods "
                          f"({', '.join(sorted(selected)) or 'none'})")
    for key in sorted(method_overrides or {}):
        lacking = sorted(m for m in selected if key not in METHODS.get(m).config_cls.model_fields)
        if lacking:
            raise ConfigError(f"method config of '{lacking[0]}': key '{key}': unknown key (an override of every "
                              f"selected method, and {', '.join(repr(m) for m in lacking)} lack it; scope it to one "
                              f"method: --set METHOD.{key}=VALUE; keys: `dcai-bench list --config METHOD`)")
    # validate every config before running anything (bad keys fail fast, nothing written)
    for c in {(c.task, c.method): c for c in cells}.values():
        c.resolve()
    return cells


@dataclass
class SweepSummary:
    outcomes: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[Cell, Path]] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


def run_sweep(cells: list[Cell], results_dir: Path = DEFAULT_RESULTS, force: bool = False,
              wandb_project: str | None = None, progress: bool = True,
              on_cell: Callable[[Cell, str, Path], None] | None = None) -> SweepSummary:
    from tqdm.auto import tqdm

    summary = SweepSummary()
    bar = tqdm(cells, desc="cells", unit="cell", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for cell in bar:
        bar.set_postfix_str(f"{cell.task}/{cell.method}/s{cell.seed_index}", refresh=False)
        outcome, path = run_cell(cell, results_dir, force=force, wandb_project=wandb_project)
        summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + 1
        summary.paths.append(path)
        if outcome == "failed":
            summary.failed.append((cell, path))
        if on_cell:
            on_cell(cell, outcome, path)
    return summary


__all__ = ["Cell", "plan", "run_cell", "run_sweep", "SweepSummary", "BenchError"]
