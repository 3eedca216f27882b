"""`dcai-bench` command line: list, run, leaderboard, power, compare, validate, submit, verify."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import BenchError
from .provenance import REPO_ROOT


def _results(args: argparse.Namespace) -> Path:
    from .runner import DEFAULT_RESULTS

    return Path(args.results_dir) if args.results_dir else DEFAULT_RESULTS


def _leaderboard_path(args: argparse.Namespace) -> Path:
    return Path(args.leaderboard) if args.leaderboard else REPO_ROOT / "leaderboard.md"


def cmd_list(args: argparse.Namespace) -> int:
    from .api import methods_for
    from .registry import DISCOVERY_ERRORS, FAMILIES, METHODS, TASKS, discover

    discover()
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
    del methods_for
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .config import parse_overrides
    from .runner import plan, run_sweep

    ov = parse_overrides(args.set)
    cells = plan(tasks=args.task, methods=args.method, seeds=args.seeds, suite=args.suite, smoke=args.smoke,
                 task_overrides=ov["task"], method_overrides=ov["method"])
    results = _results(args)
    if args.executor != "serial":
        from .executors import run_distributed

        summary = run_distributed(cells, results, executor=args.executor, address=args.address, force=args.force,
                                  wandb_project=args.wandb, progress=not args.quiet)
    else:
        summary = run_sweep(cells, results, force=args.force, wandb_project=args.wandb, progress=not args.quiet)
    print("cells:", ", ".join(f"{k}={v}" for k, v in sorted(summary.outcomes.items())), f"(results in {results})")
    for cell, path in summary.failed:
        print(f"FAILED {cell.task}/{cell.method}/s{cell.seed_index}: see {path}", file=sys.stderr)
    if args.leaderboard_update:
        from .leaderboard import rebuild

        rebuild(results, _leaderboard_path(args))
    return 1 if summary.failed and args.strict else 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from .leaderboard import rebuild

    out = _leaderboard_path(args)
    ok, text = rebuild(_results(args), out, check=args.check)
    if args.html:
        from .site import build_site

        build_site(_results(args), Path(args.html))
        print(f"site written to {args.html}")
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dcai-bench", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--results-dir", help="results directory (default: results/ of the repo, or $DCAI_RESULTS_DIR)")
        sp.add_argument("--leaderboard", help="leaderboard file (default: leaderboard.md of the repo)")

    sp = sub.add_parser("list", help="tasks, methods, and which methods apply to which family")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(fn=cmd_list)

    sp = sub.add_parser("run", help="run cells: --task/--method/--seeds, or --suite smoke|full|extended")
    sp.add_argument("--task", action="append", help="task name or glob (repeatable)")
    sp.add_argument("--method", action="append", help="method name or glob (repeatable; default: all applicable)")
    sp.add_argument("--seeds", type=int, help="number of seeds (default: the task's default; 1 for smoke)")
    sp.add_argument("--suite", choices=["smoke", "full", "extended", "paper"],
                    help="full: the embedded default (< 10 min on 2 cores); extended: full + heavier real-data tasks; "
                         "paper: the pretrained-model tier of the LM families")
    sp.add_argument("--smoke", action="store_true", help="tiny sizes; records get status smoke and never rank")
    sp.add_argument("--set", action="append", metavar="SCOPE.KEY=VALUE", help="config override, e.g. method.lr=0.1")
    sp.add_argument("--force", action="store_true", help="rerun cells that already have a record")
    sp.add_argument("--wandb", metavar="PROJECT", help="log each cell to wandb (offline mode when not logged in)")
    sp.add_argument("--executor", default="serial", choices=["serial", "ray", "slurm"],
                    help="serial (default), ray (local, or a cluster with --address), slurm (submitit)")
    sp.add_argument("--address", help="ray cluster address (default: start a local ray)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.add_argument("--strict", action="store_true", help="exit 1 when a cell failed")
    sp.add_argument("--leaderboard-update", action="store_true", help="rebuild the leaderboard afterwards")
    common(sp)
    sp.set_defaults(fn=cmd_run)

    sp = sub.add_parser("leaderboard", help="rebuild leaderboard.md from results/")
    sp.add_argument("--check", action="store_true", help="exit 1 if leaderboard.md is not what results/ gives")
    sp.add_argument("--html", metavar="DIR", help="also write the static leaderboard site to DIR")
    common(sp)
    sp.set_defaults(fn=cmd_leaderboard)

    from .tables import cmd_compare, cmd_power

    sp = sub.add_parser("power", help="per task: seeds, top method vs main baseline, smallest detectable difference")
    sp.add_argument("--task", action="append", help="task name or glob (repeatable; default: every task with records)")
    common(sp)
    sp.set_defaults(fn=cmd_power)

    sp = sub.add_parser("compare", help="paired t-test between two rows of a task's table (over shared seeds)")
    sp.add_argument("--task", required=True, help="task name")
    sp.add_argument("--version", help="task version (default: the registered one)")
    sp.add_argument("--metric", help="metric (default: the task's primary metric)")
    sp.add_argument("a", help="row label or method name")
    sp.add_argument("b", help="row label or method name")
    common(sp)
    sp.set_defaults(fn=cmd_compare)

    sp = sub.add_parser("validate", help="check result records (schema, provenance, task/metric consistency)")
    sp.add_argument("files", nargs="+")
    sp.set_defaults(fn=cmd_validate)

    sp = sub.add_parser("submit", help="validate and add result records to results/, then rebuild the leaderboard")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    common(sp)
    sp.set_defaults(fn=cmd_submit)

    sp = sub.add_parser("verify", help="re-run cells and compare with their records: FILE... [--sample K], or "
                                       "--suite full / --task GLOB (the reproduction)")
    sp.add_argument("files", nargs="*", help="record files to re-run (e.g. a submission)")
    sp.add_argument("--sample", type=int, metavar="K", help="re-run a random sample of K of the files")
    sp.add_argument("--sample-seed", type=int, help="seed of the sample (printed when not given)")
    sp.add_argument("--suite", choices=["full", "extended", "paper"], help="re-run the suite's cells")
    sp.add_argument("--task", action="append", help="task name or glob (repeatable)")
    sp.add_argument("--method", action="append", help="method name or glob (repeatable)")
    sp.add_argument("--seeds", type=int, help="seed indices 0..N-1 (default: the suite's / task's)")
    sp.add_argument("--no-record", action="store_true", help="do not record outcomes in results/VERIFIED.json")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    common(sp)
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
