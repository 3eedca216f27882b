"""`dcai-bench` command line: list, run, test, prune, leaderboard, power, compare, validate, submit,
verify.

Paths: results/ and leaderboard.md are those of the project directory, which is the working directory unless
`--project DIR` names another one (`--results-dir` / `--leaderboard` / $DCAI_RESULTS_DIR override them).
Adding a subcommand: write `cmd_<name>(args) -> int` and its parser block in `build_parser` (call `paths(sp)` when it
reads or writes results); raise `BenchError` for user errors (printed as `error: ...`, exit status 2).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from .errors import BenchError, ConfigError


# -- paths -------------------------------------------------------------------------------------------------------
def project_dir(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "project", None) or os.getcwd())


def _results(args: argparse.Namespace) -> Path:
    if getattr(args, "results_dir", None):
        return Path(args.results_dir)
    if os.environ.get("DCAI_RESULTS_DIR"):
        return Path(os.environ["DCAI_RESULTS_DIR"])
    return project_dir(args) / "results"


def _leaderboard_path(args: argparse.Namespace) -> Path:
    return Path(args.leaderboard) if getattr(args, "leaderboard", None) else project_dir(args) / "leaderboard.md"


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


# -- --set parsing -----------------------------------------------------------------------------------------------
def parse_sets(items: list[str] | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """`--set` items -> (task overrides, overrides for every selected method, overrides per named method).

    `task.KEY=V` sets a task config key; `METHOD.KEY=V` (e.g. `confident_learning.folds=3`) one method's key;
    `method.KEY=V` the key of every selected method (each must have it). Values are JSON when they parse as JSON
    (numbers, booleans, null, lists), else strings; NaN and infinities are refused.
    """
    task: dict[str, Any] = {}
    every: dict[str, Any] = {}
    per: dict[str, dict[str, Any]] = {}
    for item in items or []:
        lhs, eq, raw = item.partition("=")
        scope, _, key = lhs.rpartition(".")
        if not eq or not scope or not key:
            raise ConfigError(f"--set '{item}': expected SCOPE.KEY=VALUE, e.g. task.noise_rate=0.2, "
                              "confident_learning.folds=3 or method.lr=0.1")
        try:
            val = json.loads(raw)
        except json.JSONDecodeError:
            val = raw
        if _non_finite(val):
            raise ConfigError(f"--set '{item}': key '{key}': the value must be a finite number, got {raw}")
        if scope == "task":
            task[key] = val
        elif scope == "method":
            every[key] = val
        else:
            per.setdefault(scope, {})[key] = val  # the method's existence is checked when the run is planned
    return task, every, per


def _non_finite(v: Any) -> bool:
    if isinstance(v, float):
        return not math.isfinite(v)
    if isinstance(v, (list, tuple)):
        return any(_non_finite(x) for x in v)
    if isinstance(v, dict):
        return any(_non_finite(x) for x in v.values())
    return False


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


# -- list --------------------------------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from .registry import DISCOVERY_ERRORS, FAMILIES, METHODS, TASKS, discover

    discover()
    if args.config:
        return _show_config(args.config)
    fams = sorted(set(FAMILIES) | {t.family for _, t in TASKS.items()})
    if args.json:
        print(json.dumps({
            "families": {f: {"tasks": [n for n, t in TASKS.items() if t.family == f],
                             "methods": [n for n, m in METHODS.items() if m.applies_to(f)]} for f in fams},
            "unavailable": sorted(DISCOVERY_ERRORS)}, indent=1))
        return 0
    for f in fams:
        fam = FAMILIES._items.get(f)
        print(f"{f}: {fam.description if fam else ''}")
        for n, t in TASKS.items():
            if t.family == f:
                print(f"  task   {n} (v{t.version}, {t.default_seeds} seeds, suites: {','.join(t.suites)})")
        for n, m in METHODS.items():
            if m.applies_to(f):
                print(f"  method {n} [{m.kind}] {m.description}")
    orphans = [n for n, m in METHODS.items() if not any(m.applies_to(f) for f in fams)]
    if orphans:
        print("methods with no task family registered:", ", ".join(orphans))
    if DISCOVERY_ERRORS:
        print("\nunavailable modules (import failed):")
        for mod, err in sorted(DISCOVERY_ERRORS.items()):
            print(f"  {mod}: {err.splitlines()[0]}")
    print("\n`dcai-bench list --config NAME` shows a method's or task's config keys (types, defaults, descriptions)")
    return 0


def config_rows(cls: type, defaults: dict[str, Any] | None = None) -> list[list[str]]:
    """One row per config key: key, type, default (`defaults` replace the class's, e.g. a task's registered
    params), constraints, description."""
    rows = []
    for key, f in cls.model_fields.items():
        ann = f.annotation
        typ = getattr(ann, "__name__", None) if getattr(ann, "__args__", None) is None else None
        typ = typ or str(ann).replace("typing.", "").replace("NoneType", "None")
        if defaults and key in defaults:
            default = json.dumps(defaults[key], default=str)
        else:
            default = "(required)" if f.is_required() else json.dumps(f.get_default(call_default_factory=True),
                                                                       default=str)
        cons = ", ".join(_constraint(m) for m in f.metadata if _constraint(m))
        rows.append([key, typ, default, cons, f.description or ""])
    return rows


def _constraint(m: Any) -> str:
    for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "len >="),
                      ("max_length", "len <="), ("multiple_of", "multiple of")):
        if getattr(m, attr, None) is not None:
            return f"{sym} {getattr(m, attr)}"
    return ""


def _show_config(name: str) -> int:
    from .registry import METHODS, TASKS

    params: dict[str, Any] = {}
    if name in TASKS:
        t = TASKS.get(name)
        cls, scope, params = t.config_cls, "task", dict(t.params)
        print(f"task {name} (family {t.family}, v{t.version}): {t.description}")
    elif name in METHODS:
        m = METHODS.get(name)
        cls, scope = m.config_cls, name
        privs = f", privileges {sorted(m.privileges)}" if m.privileges else ""
        print(f"method {name} (families {', '.join(m.family)}; kind {m.kind}{privs}): {m.description}")
    else:
        import difflib

        close = difflib.get_close_matches(name, list(METHODS) + list(TASKS), n=1, cutoff=0.4)
        raise ConfigError(f"no method or task named '{name}'" + (f"; did you mean '{close[0]}'?" if close else ""))
    rows = config_rows(cls, params)
    if not rows:
        print("config: no keys")
        return 0
    print(f"config {cls.__name__} (override with --set {scope}.KEY=VALUE):")
    print(_table(rows, ["key", "type", "default", "constraints", "description"]))
    if params:
        print(f"(defaults of {', '.join(sorted(params))} are the ones this task registers)")
    missing = [r[0] for r in rows if not r[4]]
    if missing:
        print(f"(no description: {', '.join(missing)})")
    return 0


# -- run ---------------------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from .runner import plan, run_sweep

    task_ov, every_ov, per_ov = parse_sets(args.set)
    cells = plan(tasks=args.task, methods=args.method, seeds=args.seeds, suite=args.suite, smoke=args.smoke,
                 task_overrides=task_ov, method_overrides=every_ov, per_method_overrides=per_ov)
    results = _results(args)
    if args.dry_run:
        print(plan_table(cells))
        print(f"{len(cells)} cells planned (dry run: nothing ran; results would go to {results})")
        return 0
    if args.executor != "serial":
        from .executors import run_distributed

        summary = run_distributed(cells, results, executor=args.executor, address=args.address, force=args.force,
                                  wandb_project=args.wandb, progress=not args.quiet)
    else:
        summary = run_sweep(cells, results, force=args.force, wandb_project=args.wandb, progress=not args.quiet)
    print(summary_text(cells, summary, results))
    if args.leaderboard_update:
        from .leaderboard import rebuild

        rebuild(results, _leaderboard_path(args))
    return 1 if summary.failed and args.strict else 0


def plan_table(cells: list) -> str:
    groups: dict[tuple[str, str], list[int]] = {}
    for c in cells:
        groups.setdefault((c.task, c.method), []).append(c.seed_index)
    rows = [[t, m, len(s), ",".join(map(str, s))] for (t, m), s in groups.items()]
    return _table(rows, ["task", "method", "n", "seed indices"])


def summary_text(cells: list, summary: Any, results: Path) -> str:
    """The end of `run`: one row per (task, method) with the seed count and the primary metric's mean over the cells
    of this run (skipped cells included: their existing records), then each failed cell's first error line."""
    from .conformance import first_line
    from .records import RecordError, read_record

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    failed_lines = []
    for cell, path in zip(cells, summary.paths):
        row = rows.setdefault((cell.task, cell.method), {"vals": [], "failed": 0, "metric": ""})
        try:
            rec = read_record(path)
        except RecordError as e:
            row["failed"] += 1
            failed_lines.append(f"  {cell.task}/{cell.method}/s{cell.seed_index}: unreadable record: {e}")
            continue
        row["metric"] = rec.primary_metric
        if rec.status == "failed":
            row["failed"] += 1
            failed_lines.append(f"  {cell.task}/{cell.method}/s{cell.seed_index}: {first_line(rec.error)}"
                                f"  [{path}]")
        else:
            v = rec.metrics[rec.primary_metric].value
            if v is not None:
                row["vals"].append(v)
    table = []
    for (t, m), r in rows.items():
        mean = f"{sum(r['vals']) / len(r['vals']):.4f}" if r["vals"] else "-"
        table.append([t, m, len(r["vals"]), r["metric"], mean] + ([r["failed"] or ""] if summary.failed else []))
    out = [_table(table, ["task", "method", "n", "primary metric", "mean"] + (["failed"] if summary.failed else []))]
    counts = ", ".join(f"{k}={v}" for k, v in sorted(summary.outcomes.items()))
    out.append(f"cells: {counts} (results in {results})")
    skipped = summary.outcomes.get("skipped", 0)
    if skipped:
        out.append(f"{skipped} of {len(cells)} cells were skipped because their records already exist (same config); "
                   "their stored values are in the table. `--force` reruns them; `dcai-bench verify` recomputes "
                   "them without touching results/.")
    if failed_lines:
        out.append(f"{len(failed_lines)} cells FAILED (first error line; the record holds the traceback):")
        out.extend(failed_lines)
    return "\n".join(out)


# -- test (conformance) ------------------------------------------------------------------------------------------
def cmd_test(args: argparse.Namespace) -> int:
    from .conformance import Conformance
    from .registry import METHODS, discover, discover_for

    if any(c in pat for pat in args.method for c in "*?["):
        discover()
    else:  # import only the families of the named methods (and of --task)
        discover_for(methods=args.method, tasks=[args.task] if args.task else [])
    names: list[str] = []
    for pat in args.method:
        names += [n for n in METHODS.match(pat) if n not in names]
    conf = Conformance(full_discovery=False)
    failed = passed = 0
    try:
        for name in names:
            spec = METHODS.get(name)
            print(f"method '{name}' (kind {spec.kind}; families {', '.join(spec.family)})", flush=True)
            for chk in conf.check_method(name, args.task):
                print(f"  {chk.status:4s}  {chk.name:13s} [{chk.family}] {chk.detail}", flush=True)
                failed += chk.passed is False
                passed += chk.passed is True
    finally:
        conf.close()
    print(f"{passed} checks passed, {failed} failed" + ("" if failed else " (conformant)"))
    return 1 if failed else 0


# -- prune -------------------------------------------------------------------------------------------------------
def cmd_prune(args: argparse.Namespace) -> int:
    from .prune import REASONS, apply, find_stale

    results = _results(args)
    only = set(args.only.split(",")) if args.only else None
    if only and not only <= set(REASONS):
        raise ConfigError(f"--only: unknown reason(s) {sorted(only - set(REASONS))} (choose from {', '.join(REASONS)})")
    stale, unreadable = find_stale(results, only)
    if stale:
        print(_table([[str(p.relative_to(results)), why] for p, why in stale], ["record", "why it is stale"]))
    for p, why in unreadable:
        print(f"left alone (unreadable, inspect it): {p}: {why}")
    counts: dict[str, int] = {}
    for _, why in stale:
        k = why.split(":")[0]
        counts[k] = counts.get(k, 0) + 1
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"
    if not args.apply:
        print(f"{len(stale)} stale records under {results} ({summary}); dry run: nothing removed "
              "(`dcai-bench prune --apply` removes them)")
        return 0
    apply([p for p, _ in stale], results)
    print(f"removed {len(stale)} stale records from {results} ({summary}); rebuild the leaderboard with "
          "`dcai-bench leaderboard`")
    return 0


# -- leaderboard, validate, submit -------------------------------------------------------------------------------
def cmd_leaderboard(args: argparse.Namespace) -> int:
    if args.html:  # the site only: leaderboard.md is left as it is
        from .site import build_site

        build_site(_results(args), Path(args.html))
        print(f"site written to {args.html}")
        return 0
    from .leaderboard import rebuild

    out = _leaderboard_path(args)
    ok, text = rebuild(_results(args), out, check=args.check)
    if args.check:
        if not ok:
            print(f"{out} is out of date with {_results(args)}: run `dcai-bench leaderboard`", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    print(f"wrote {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import validate_command

    return validate_command(args.files)


def cmd_submit(args: argparse.Namespace) -> int:
    from .submit import submit_command

    return submit_command(args.files, _results(args), _leaderboard_path(args), dry_run=args.dry_run)


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify_command

    return verify_command(args, _results(args))


def paths(sp: argparse.ArgumentParser) -> None:
    """The path options of every subcommand that reads or writes results."""
    sp.add_argument("--project", metavar="DIR", help="project directory holding results/ and leaderboard.md "
                                                    "(default: the working directory)")
    sp.add_argument("--results-dir", help="results directory (default: $DCAI_RESULTS_DIR, else <project>/results)")
    sp.add_argument("--leaderboard", help="leaderboard file (default: <project>/leaderboard.md)")


common = paths  # old name


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dcai-bench", description=__doc__.split("\n\n")[0],
                                epilog="`dcai-bench COMMAND --help` for each command's options")
    sub = p.add_subparsers(dest="cmd", required=True)

    sp = sub.add_parser("list", help="tasks, methods, and which methods apply to which family")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--config", metavar="NAME", help="show the config of a method or task: keys, types, defaults, "
                                                     "constraints, descriptions")
    sp.set_defaults(fn=cmd_list)

    sp = sub.add_parser("run", help="run cells: --task/--method/--seeds, or --suite smoke|full|extended|paper")
    sp.add_argument("--task", action="append", help="task name or glob (repeatable)")
    sp.add_argument("--method", action="append", help="method name or glob (repeatable; default: all applicable)")
    sp.add_argument("--seeds", type=_positive_int, help="number of seeds (default: the task's default; 1 for smoke)")
    sp.add_argument("--suite", choices=["smoke", "full", "extended", "paper"],
                    help="full: the embedded default (every committed protocol: hours on 2 cores); extended: full "
                         "+ heavier real-data tasks; paper: the pretrained-model tier of the LM families")
    sp.add_argument("--smoke", action="store_true", help="tiny sizes; records get status smoke and never rank")
    sp.add_argument("--set", action="append", metavar="SCOPE.KEY=VALUE",
                    help="config override (repeatable): task.KEY=V for the task config, METHOD.KEY=V for one method "
                         "(e.g. confident_learning.folds=3), method.KEY=V for every selected method (each must "
                         "have the key); keys: `dcai-bench list --config NAME`")
    sp.add_argument("--force", action="store_true", help="rerun cells that already have a record")
    sp.add_argument("--dry-run", action="store_true", help="print the planned cells (configs checked) and run nothing")
    sp.add_argument("--wandb", metavar="PROJECT", help="log each cell to wandb (offline mode when not logged in)")
    sp.add_argument("--executor", default="serial", choices=["serial", "ray", "slurm"],
                    help="serial (default), ray (local, or a cluster with --address), slurm (submitit)")
    sp.add_argument("--address", help="ray cluster address (default: start a local ray)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.add_argument("--strict", action="store_true", help="exit 1 when a cell failed")
    sp.add_argument("--leaderboard-update", action="store_true", help="rebuild the leaderboard afterwards")
    paths(sp)
    sp.set_defaults(fn=cmd_run)

    sp = sub.add_parser("test", help="conformance checks of a method against its family's contract (smoke run, "
                                     "output contract, determinism, beats the null on the easy task)")
    sp.add_argument("--method", action="append", required=True, help="method name or glob (repeatable)")
    sp.add_argument("--task", help="run the smoke and determinism checks on this task (default: the family's "
                                   "smoke task)")
    sp.set_defaults(fn=cmd_test)

    sp = sub.add_parser("prune", help="list (or, with --apply, remove) stale records: superseded task version, "
                                      "smoke, failed, or a config that is not its method's current resolution")
    sp.add_argument("--apply", action="store_true", help="remove them (default: dry run, nothing removed)")
    sp.add_argument("--only", metavar="REASONS", help="comma-separated subset of: superseded, smoke, failed, "
                                                      "config, unregistered")
    paths(sp)
    sp.set_defaults(fn=cmd_prune)

    sp = sub.add_parser("leaderboard", help="rebuild leaderboard.md from results/ (or, with --html, the site only)")
    sp.add_argument("--check", action="store_true", help="exit 1 if leaderboard.md is not what results/ gives")
    sp.add_argument("--html", metavar="DIR", help="write the static leaderboard site to DIR (leaderboard.md is left "
                                                  "as it is)")
    paths(sp)
    sp.set_defaults(fn=cmd_leaderboard)

    from .tables import cmd_compare, cmd_power

    sp = sub.add_parser("power", help="per task: seeds, top method vs main baseline, smallest detectable difference")
    sp.add_argument("--task", action="append", help="task name or glob (repeatable; default: every task with records)")
    paths(sp)
    sp.set_defaults(fn=cmd_power)

    sp = sub.add_parser("compare", help="paired t-test between two rows of a task's table (over shared seeds)")
    sp.add_argument("--task", required=True, help="task name")
    sp.add_argument("--version", help="task version (default: the registered one)")
    sp.add_argument("--metric", help="metric (default: the task's primary metric)")
    sp.add_argument("a", help="row label or method name")
    sp.add_argument("b", help="row label or method name")
    paths(sp)
    sp.set_defaults(fn=cmd_compare)

    sp = sub.add_parser("validate", help="check result records (schema, provenance, task/metric consistency)")
    sp.add_argument("files", nargs="+")
    sp.set_defaults(fn=cmd_validate)

    sp = sub.add_parser("submit", help="validate and add result records to results/, then rebuild the leaderboard")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    paths(sp)
    sp.set_defaults(fn=cmd_submit)

    sp = sub.add_parser("verify", help="re-run cells and compare with their records: FILE... [--sample K], or "
                                       "--suite full / --task GLOB (the reproduction)")
    sp.add_argument("files", nargs="*", help="record files to re-run (e.g. a submission)")
    sp.add_argument("--sample", type=_positive_int, metavar="K", help="re-run a random sample of K of the files")
    sp.add_argument("--sample-seed", type=int, help="seed of the sample (printed when not given)")
    sp.add_argument("--suite", choices=["full", "extended", "paper"], help="re-run the suite's cells")
    sp.add_argument("--task", action="append", help="task name or glob (repeatable)")
    sp.add_argument("--method", action="append", help="method name or glob (repeatable)")
    sp.add_argument("--seeds", type=_positive_int, help="seed indices 0..N-1 (default: the suite's / task's)")
    sp.add_argument("--no-record", action="store_true", help="do not record outcomes in results/VERIFIED.json")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    paths(sp)
    sp.set_defaults(fn=cmd_verify)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
