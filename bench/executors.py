"""Distributed executors: each cell is one job running `bench.runner.run_cell`, so records are identical to the
serial executor's (apart from provenance: executor name, wall time, memory).

- ray: a local Ray instance by default, or a cluster with `--address`; started by `ray_init` (below), which the
  federated family's Flower simulation uses too;
- slurm: submitit's AutoExecutor (SLURM when available; `DCAI_SUBMITIT_CLUSTER=local` runs the jobs as local
  subprocesses, `debug` in-process) with job logs under `<cache dir>/submitit/` (never inside results/).

Starting Ray on a loaded machine. Ray 2.55's local start has fixed limits: the raylet gives its Python agents 15 s to
report their ports and aborts otherwise, and ray.init gives the raylet 30 s to register. On 2 busy cores a Python
agent that compiles Ray's modules from source (no bytecode cache: `PYTHONDONTWRITEBYTECODE`, or a read-only
site-packages) takes longer than that (measured: 28 s to import the agents at load 15; 10 s with cached bytecode).
`ray_init` therefore
1. lets Ray's processes cache bytecode under `<cache dir>/pycache` (PYTHONPYCACHEPREFIX) when Ray's own package has
   no bytecode cache (the driver's environment is restored after the start; only Ray's processes see it);
2. stretches ray.init's 30 s raylet-registration wait to `DCAI_RAY_TIMEOUT_S` (default 300 s);
3. starts each attempt in its own temp dir, so that a failed attempt's processes (GCS, raylet, the agents that a
   crashed raylet leaves orphaned) are found by that dir and terminated — nothing is left running;
4. retries once (the second attempt finds the bytecode cached), then raises ExecutorError saying what happened,
   the load, where Ray's logs are, and what to do (raise DCAI_RAY_TIMEOUT_S, or run with --executor serial).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from .errors import BenchError
from .runner import Cell, SweepSummary, run_cell

RAY_TIMEOUT_ENV = "DCAI_RAY_TIMEOUT_S"
DEFAULT_RAY_TIMEOUT_S = 300.0
_RAY_WAIT_S = 30.0  # ray._private.node: raylet_start_wait_time_s (a literal in Ray 2.55)


class ExecutorError(BenchError):
    """A distributed executor could not start or lost its jobs. The message says why and what to do."""


def ray_timeout_s() -> float:
    raw = os.environ.get(RAY_TIMEOUT_ENV, "")
    if not raw:
        return DEFAULT_RAY_TIMEOUT_S
    try:
        v = float(raw)
    except ValueError:
        raise ExecutorError(f"{RAY_TIMEOUT_ENV}={raw!r}: give a number of seconds") from None
    if not (v > 0 and v < 1e6):
        raise ExecutorError(f"{RAY_TIMEOUT_ENV}={raw!r}: give a positive number of seconds")
    return v


def _cache_dir() -> Path:
    from .paths import cache_dir

    return cache_dir()


# -- processes of one Ray start ------------------------------------------------------------------------------------
def _processes_with(marker: str) -> list[int]:
    """Pids of processes (not this one) whose command line contains marker (a Ray temp dir unique to one start)."""
    pids = []
    proc = Path("/proc")
    if proc.is_dir():
        for d in proc.iterdir():
            if not d.name.isdigit() or int(d.name) == os.getpid():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if marker in cmd:
                pids.append(int(d.name))
        return sorted(pids)
    try:  # pragma: no cover - not Linux
        import subprocess

        out = subprocess.run(["ps", "-axo", "pid=,command="], capture_output=True, text=True, timeout=20).stdout
    except (OSError, ValueError):
        return []
    for line in out.splitlines():
        pid, _, cmd = line.strip().partition(" ")
        if pid.isdigit() and int(pid) != os.getpid() and marker in cmd:
            pids.append(int(pid))
    return sorted(pids)


def kill_ray_processes(marker: str, grace_s: float = 5.0, rounds: int = 5) -> list[int]:
    """Terminate (SIGTERM, then SIGKILL after grace_s) every process started for the Ray temp dir `marker`.
    Repeats the sweep (up to `rounds` times, ending after two empty scans 0.3 s apart) because a raylet that is being
    stopped may still have forked an agent that the first scan did not see. Returns the pids that were found."""
    found: list[int] = []
    quiet = False
    for _ in range(max(2, rounds)):
        pids = _processes_with(marker)
        if not pids:
            if quiet:
                break
            quiet = True  # look once more: a process forked but not yet exec'd does not carry the marker yet
            time.sleep(0.3)
            continue
        quiet = False
        found.extend(p for p in pids if p not in found)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        left = pids
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            _reap(pids)
            left = [p for p in _processes_with(marker) if p in pids]
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)  # let a process forked just before its parent died show up in /proc
        _reap(pids)
    return found


def _reap(pids: list[int]) -> None:
    """Collect those of `pids` that are exited children of this process (Ray's GCS and raylet are), so that none
    stays a zombie. Other children of this process are left alone."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def _ray_start_patches(timeout_s: float) -> Iterator[None]:
    """While ray.init runs: its raylet-registration wait scaled from 30 s to timeout_s (Ray reads the clock through
    `ray._private.node.time`; only that module's view of time.monotonic is scaled, sleeps are not). Applied only when
    the module uses the time module as expected (else Ray's own 30 s stays)."""
    import ray._private.node as node

    real = getattr(node, "time", None)

    class _Stretched:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def monotonic() -> float:
            return time.monotonic() * (_RAY_WAIT_S / timeout_s)

    if real is time:
        node.time = _Stretched()
    try:
        yield
    finally:
        if real is not None:
            node.time = real


@contextlib.contextmanager
def _bytecode_cache_for_ray() -> Iterator[str | None]:
    """Let the processes Ray starts cache compiled bytecode under <cache dir>/pycache when Ray's package has none."""
    import ray

    has_cache = any((Path(ray.__file__).parent / "_private" / "__pycache__").glob("*.pyc"))
    if has_cache or os.environ.get("PYTHONPYCACHEPREFIX"):
        yield None
        return
    prefix = str(_cache_dir() / "pycache")
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    try:
        Path(prefix).mkdir(parents=True, exist_ok=True)
        os.environ["PYTHONPYCACHEPREFIX"] = prefix
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        yield prefix
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _RaySession:
    temp_dir: str | None = None  # the temp dir of the local Ray this process started (None: none, or a cluster)


_SESSION = _RaySession()


def ray_init(num_cpus: int | None = None, address: str | None = None, timeout_s: float | None = None,
             retries: int = 1, **kwargs: Any) -> bool:
    """Start (or connect to) Ray robustly; see the module doc. Returns True when this call started Ray (the caller
    may `ray_shutdown()` it; it is also shut down at exit), False when Ray was already running in this process.
    Raises ExecutorError, with nothing left running, when every attempt failed."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized():
        return False
    if _SESSION.temp_dir:  # a Ray we started was shut down by someone else (e.g. Flower): tidy its leftovers
        ray_shutdown()
    timeout = float(timeout_s) if timeout_s is not None else ray_timeout_s()
    opts = {"include_dashboard": False, "log_to_driver": False, **kwargs}
    errors, logs = [], []
    for attempt in range(1 + max(0, retries)):
        tmp = None
        t0 = time.monotonic()
        try:
            if address:
                ray.init(address=address, **opts)
            else:
                tmp = tempfile.mkdtemp(prefix="dcai-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
                with _bytecode_cache_for_ray(), _ray_start_patches(timeout):
                    ray.init(num_cpus=num_cpus or os.cpu_count(), _temp_dir=tmp, **opts)
                _SESSION.temp_dir = tmp
            return True
        except Exception as e:  # noqa: BLE001 - Ray raises plain Exception on a start timeout
            errors.append(f"attempt {attempt + 1} ({time.monotonic() - t0:.0f} s): {type(e).__name__}: "
                          f"{str(e).splitlines()[0][:300] if str(e) else ''}")
            with contextlib.suppress(Exception):
                ray.shutdown()
            if tmp:
                kill_ray_processes(tmp)
                if (Path(tmp) / "session_latest").exists():
                    logs.append(tmp)  # kept for its logs (named in the error)
                else:
                    shutil.rmtree(tmp, ignore_errors=True)
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        load = "unknown"
    where = f"the cluster at {address}" if address else f"a local Ray ({num_cpus or os.cpu_count()} CPUs)"
    raise ExecutorError(
        f"Ray did not start: {where} failed {len(errors)} time(s) ("
        + "; ".join(errors) + f"). Load average {load} on {os.cpu_count()} cores. "
        + (f"Ray's logs: {', '.join(f'{t}/session_latest/logs' for t in logs)}. " if logs else "")
        + f"Each attempt waited up to {timeout:.0f} s ({RAY_TIMEOUT_ENV}); on a busy machine raise it, or use "
          "`--executor serial` (same records). No Ray process of these attempts is left running.")


def ray_shutdown() -> None:
    """Shut down the Ray this process started and make sure none of its processes is left running."""
    import ray

    with contextlib.suppress(Exception):
        ray.shutdown()
    tmp, _SESSION.temp_dir = _SESSION.temp_dir, None
    if tmp:
        kill_ray_processes(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


@atexit.register
def _shutdown_at_exit() -> None:  # pragma: no cover - exercised by the subprocess test
    if _SESSION.temp_dir and "ray" in sys.modules:
        ray_shutdown()


@contextlib.contextmanager
def ray_session(num_cpus: int | None = None, address: str | None = None, **kwargs: Any) -> Iterator[bool]:
    """`with ray_session(...)`: Ray for the block; shut down (with its processes) afterwards if this block started it,
    also when the block raises."""
    started = ray_init(num_cpus=num_cpus, address=address, **kwargs)
    try:
        yield started
    finally:
        if started:
            ray_shutdown()


# -- executors ----------------------------------------------------------------------------------------------------
def _collect(summary: SweepSummary, cell: Cell, outcome: str, path: Path) -> None:
    summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + 1
    summary.paths.append(Path(path))
    if outcome == "failed":
        summary.failed.append((cell, Path(path)))


def run_ray(cells: list[Cell], results_dir: Path, address: str | None = None, force: bool = False,
            wandb_project: str | None = None, num_cpus: int | None = None, progress: bool = True) -> SweepSummary:
    from tqdm.auto import tqdm

    with ray_session(num_cpus=num_cpus, address=address):
        import ray

        @ray.remote(num_cpus=1)
        def job(cell: Cell) -> tuple[str, str]:
            outcome, path = run_cell(cell, Path(results_dir), force=force, wandb_project=wandb_project,
                                     executor="ray")
            return outcome, str(path)

        refs = [job.remote(c) for c in cells]
        index = {r: c for r, c in zip(refs, cells)}
        results: dict = {}
        pending = list(refs)
        with tqdm(total=len(refs), desc="cells (ray)", unit="cell", disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for r in done:
                    try:
                        results[r] = ray.get(r)
                    except ray.exceptions.RayError as e:
                        c = index[r]
                        raise ExecutorError(f"the Ray job of cell {c.task}/{c.method}/s{c.seed_index} was lost "
                                            f"({type(e).__name__}: {str(e).splitlines()[0][:300]}); cells finished so "
                                            "far are recorded, rerun the same command to resume") from None
                    bar.update(1)
        summary = SweepSummary()
        for r in refs:  # report in plan order, whatever the completion order
            _collect(summary, index[r], *results[r])
        return summary


def submitit_folder() -> Path:
    """Where submitit keeps job scripts and logs: under the cache dir, never inside results/."""
    return _cache_dir() / "submitit"


def run_submitit(cells: list[Cell], results_dir: Path, force: bool = False, wandb_project: str | None = None,
                 cluster: str | None = None, slurm_params: dict | None = None,
                 folder: Path | None = None) -> SweepSummary:
    import submitit

    folder = Path(folder) if folder is not None else submitit_folder()
    ex = submitit.AutoExecutor(folder=str(folder / "%j"), cluster=cluster or os.environ.get("DCAI_SUBMITIT_CLUSTER"))
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
