"""Distributed executors: each cell is one job running `bench.runner.run_cell`, so records are identical to the
serial executor's (apart from provenance: executor name, wall time, memory).

- ray: a local Ray instance by default (`ray.init(num_cpus=...)`), or a cluster with `--address`;
- slurm: submitit's AutoExecutor (SLURM when available; `DCAI_SUBMITIT_CLUSTER=local` runs the jobs as local
  subprocesses, `debug` in-process) with job logs under `<results>/.submitit/`.
"""
from __future__ import annotations

import os
from pathlib import Path

from .runner import Cell, SweepSummary, run_cell


def _collect(summary: SweepSummary, cell: Cell, outcome: str, path: Path) -> None:
    summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + 1
    summary.paths.append(Path(path))
    if outcome == "failed":
        summary.failed.append((cell, Path(path)))


def run_ray(cells: list[Cell], results_dir: Path, address: str | None = None, force: bool = False,
            wandb_project: str | None = None, num_cpus: int | None = None, progress: bool = True) -> SweepSummary:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from tqdm.auto import tqdm

    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
        started = True

    @ray.remote(num_cpus=1)
    def job(cell: Cell) -> tuple[str, str]:
        outcome, path = run_cell(cell, Path(results_dir), force=force, wandb_project=wandb_project, executor="ray")
        return outcome, str(path)

    try:
        refs = [job.remote(c) for c in cells]
        index = {r: c for r, c in zip(refs, cells)}
        results: dict = {}
        pending = list(refs)
        with tqdm(total=len(refs), desc="cells (ray)", unit="cell", disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for r in done:
                    results[r] = ray.get(r)
                    bar.update(1)
        summary = SweepSummary()
        for r in refs:  # report in plan order, whatever the completion order
            _collect(summary, index[r], *results[r])
        return summary
    finally:
        if started:
            ray.shutdown()


def run_submitit(cells: list[Cell], results_dir: Path, force: bool = False, wandb_project: str | None = None,
                 cluster: str | None = None, slurm_params: dict | None = None) -> SweepSummary:
    import submitit

    folder = Path(results_dir) / ".submitit" / "%j"
    ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster or os.environ.get("DCAI_SUBMITIT_CLUSTER"))
    ex.update_parameters(timeout_min=60, **(slurm_params or {}))
    jobs = [ex.submit(run_cell, c, Path(results_dir), force, wandb_project, "slurm") for c in cells]
    summary = SweepSummary()
    for c, j in zip(cells, jobs):
        outcome, path = j.result()
        _collect(summary, c, outcome, path)
    return summary


def run_distributed(cells: list[Cell], results_dir: Path, executor: str, address: str | None = None,
                    force: bool = False, wandb_project: str | None = None, progress: bool = True) -> SweepSummary:
    if executor == "ray":
        return run_ray(cells, results_dir, address, force, wandb_project, progress=progress)
    if executor == "slurm":
        return run_submitit(cells, results_dir, force, wandb_project)
    raise ValueError(f"unknown executor {executor!r} (serial, ray, slurm)")
