"""Provenance of a run: code version, packages, interpreter, hardware, and a per-cell peak-memory monitor."""
from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import subprocess
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

TRACKED_PACKAGES = (
    "dcai-bench", "torch", "numpy", "scipy", "pandas", "scikit-learn", "transformers", "datasets", "accelerate",
    "trl", "peft", "lm-eval", "alpaca-eval", "cleanlab", "crowd-kit", "fairlearn", "flwr", "ray", "pydantic",
)


@functools.lru_cache(maxsize=1)
def git_state() -> dict[str, object]:
    def git(*args: str) -> str:
        p = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise OSError(p.stderr.strip())
        return p.stdout.strip()

    try:
        sha = git("rev-parse", "--verify", "HEAD") or None
        # results/ and leaderboard.md are outputs, not code: their changes do not make the code dirty
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results", ":(exclude)leaderboard.md")
        # a new, never-committed file under the code folders (a method, a task) makes the tree dirty too
        untracked = git("status", "--porcelain", "--untracked-files=all", "--", *CODE_DIRS)
        return {"git_sha": sha, "git_dirty": bool(status) or bool(untracked)}
    except (OSError, subprocess.SubprocessError):
        return {"git_sha": None, "git_dirty": None}


CODE_DIRS = ("bench", "tasks", "baselines")
# code shared across families: part of every record's support hash
SHARED_CODE = ("tasks/common", "baselines/common", "bench/lm")


def _sha256_file(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rel(path: str | Path) -> str:
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.as_posix()


def _tree_sha256(dirs: list[Path]) -> str:
    import hashlib

    h = hashlib.sha256()
    files = sorted({f.resolve() for d in dirs if d.is_dir() for f in d.rglob("*.py") if "__pycache__" not in f.parts})
    for f in files:
        h.update(_rel(f).encode() + b"\0" + _sha256_file(f).encode() + b"\n")
    return h.hexdigest()


def source_hashes(method_file: str | None, task_file: str | None) -> dict[str, str | None]:
    """Content hashes of the code behind a cell: the method's file, the task's file, and the support code (every .py
    in the method's and the task's packages plus the shared modules). Two records with the same git SHA but different
    code (an uncommitted edit, a new file) differ here."""
    dirs = [REPO_ROOT / d for d in SHARED_CODE]
    for f in (method_file, task_file):
        if f:
            dirs.append(Path(f).resolve().parent)
    return {
        "method_file": _rel(method_file) if method_file else None,
        "method_sha256": _sha256_file(method_file) if method_file else None,
        "task_file": _rel(task_file) if task_file else None,
        "task_sha256": _sha256_file(task_file) if task_file else None,
        "support_sha256": _tree_sha256(dirs),
    }


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def hardware() -> dict[str, object]:
    hw: dict[str, object] = {
        "cpu": _cpu_model(),
        "cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _mem_gb(),
        "gpu": None,
        "gpu_count": 0,
    }
    try:
        import torch

        if torch.cuda.is_available():
            hw["gpu_count"] = torch.cuda.device_count()
            hw["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:  # pragma: no cover
        pass
    return hw


def _mem_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def environment() -> dict[str, object]:
    return {
        **git_state(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hardware": hardware(),
    }


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb() -> float | None:
    """The kernel's peak-RSS mark of this process (VmHWM), in MB; None where /proc has none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    """Reset the peak-RSS mark to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _hwm_mb() is not None


class PeakMemory:
    """Peak resident memory of this process while a cell runs (peak over the cell, not the process high-water mark);
    also the CUDA peak when a GPU is used. Where the kernel lets the peak-RSS mark be reset (Linux), it is reset at
    the start and read at the end: exact, and free. Elsewhere a background thread samples the RSS every `interval`
    seconds (a 50 ms sampler slowed a Python-heavy training loop by ~10% CPU: benchmarks/harness_overhead.py)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_rss_mb = 0.0
        self.peak_gpu_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss_mb = max(self.peak_rss_mb, _rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        try:  # before the reset: a first import of torch here would otherwise count as the cell's memory
            import torch

            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
        except ImportError:  # pragma: no cover
            pass
        self.peak_rss_mb = _rss_mb()
        self._exact = _reset_hwm()
        if not self._exact:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._exact:
            self.peak_rss_mb = max(self.peak_rss_mb, _hwm_mb() or 0.0)
        else:
            self._stop.set()
            self._thread.join()
        self.peak_rss_mb = max(self.peak_rss_mb, _rss_mb())
        try:
            import torch

            if torch.cuda.is_available():
                self.peak_gpu_mb = torch.cuda.max_memory_allocated() / 2**20
        except ImportError:  # pragma: no cover
            pass
