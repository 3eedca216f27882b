"""Issue #15, item 9: files follow the umask, stale temp files are cleaned, executor job folders stay out of results/,
and Ray starts under load (stretched wait, bytecode cache, one retry) and never leaves a process behind."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.leaderboard import rebuild
from bench.runner import Cell, plan, run_cell


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_records_and_leaderboard_follow_the_umask(tmp_path, echo_task, umask, mode):
    old = os.umask(umask)
    try:
        _, path = run_cell(Cell("test-echo", "echo_a", 0), tmp_path / "results")
        rebuild(tmp_path / "results", tmp_path / "lb.md")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(mode)
    assert oct((tmp_path / "lb.md").stat().st_mode & 0o777) == oct(mode)


def test_stale_temp_files_are_cleaned_on_the_next_write(tmp_path, echo_task):
    from bench.records import _HOST

    res = tmp_path / "results"
    _, path = run_cell(Cell("test-echo", "echo_a", 0), res)
    d = path.parent
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = d / f".{path.name}.{_HOST}.{dead.pid}.abc123.tmp"  # left by a writer killed mid-write
    old = d / ".x-s9.json.otherhost.1.zzz.tmp"  # another host's, two hours old
    live = d / f".y-s9.json.{_HOST}.{os.getpid()}.live1.tmp"  # a write in progress (this process)
    for f in (stale, old, live):
        f.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    run_cell(Cell("test-echo", "echo_a", 1), res)
    assert not stale.exists() and not old.exists() and live.exists()
    rebuild(res, tmp_path / "lb.md")
    assert "Records rejected" not in (tmp_path / "lb.md").read_text(), "temp files are never read as records"


def test_submitit_job_folders_live_in_the_cache_not_in_results(tmp_path, echo_task, monkeypatch):
    from bench.executors import run_submitit

    monkeypatch.setenv("DCAI_CACHE_DIR", str(tmp_path / "cache"))
    res = tmp_path / "results"
    summary = run_submitit(plan(tasks=["test-echo"], methods=["echo_a"], seeds=1), res, cluster="debug")
    assert summary.outcomes == {"ok": 1}
    assert not (res / ".submitit").exists() and [p.name for p in res.iterdir()] == ["test-echo"]
    assert (tmp_path / "cache" / "submitit").is_dir()


# -- Ray ----------------------------------------------------------------------------------------------------------
def test_ray_start_wait_is_stretched_to_the_configured_timeout(monkeypatch):
    import inspect

    import ray._private.node as node

    from bench.executors import ExecutorError, _ray_start_patches, ray_timeout_s

    # what the patch relies on in the installed Ray: a literal 30 s wait measured with time.monotonic
    src = inspect.getsource(node.Node.__init__)
    assert "raylet_start_wait_time_s = 30" in src and "time.monotonic() - start_time > raylet_start_wait_time_s" in src
    with _ray_start_patches(300.0):
        t0 = node.time.monotonic()
        time.sleep(0.2)
        assert node.time.monotonic() - t0 < 0.05  # 10x slower: Ray's 30 s become 300 s
    assert node.time is time
    monkeypatch.setenv("DCAI_RAY_TIMEOUT_S", "abc")
    with pytest.raises(ExecutorError, match="DCAI_RAY_TIMEOUT_S='abc'"):
        ray_timeout_s()
    monkeypatch.setenv("DCAI_RAY_TIMEOUT_S", "600")
    assert ray_timeout_s() == 600.0


def _marked_sleeper(marker):
    """A stand-in for a Ray process of one start: its command line names the start's temp dir."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", f"--temp-dir={marker}"])


def test_ray_init_retries_once_and_kills_what_the_failed_attempt_started(monkeypatch):
    import ray

    from bench import executors

    seen = []

    def fake_init(**kw):
        seen.append(kw["_temp_dir"])
        proc = _marked_sleeper(kw["_temp_dir"])
        if len(seen) == 1:
            time.sleep(0.3)
            raise Exception("The current node timed out during startup.")
        fake_init.proc = proc

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    assert executors.ray_init(num_cpus=1, timeout_s=5) is True
    assert len(seen) == 2 and executors._processes_with(seen[0]) == [] and not Path(seen[0]).exists()
    assert executors._processes_with(seen[1]) == [fake_init.proc.pid]
    executors.ray_shutdown()
    assert executors._processes_with(seen[1]) == [] and not Path(seen[1]).exists()
    fake_init.proc.wait(5)


def test_ray_init_fails_with_a_clear_message_and_nothing_left(monkeypatch):
    import ray

    from bench import executors

    seen = []

    def fake_init(**kw):
        seen.append(kw["_temp_dir"])
        _marked_sleeper(kw["_temp_dir"])
        raise Exception("The current node timed out during startup. This could happen because ...")

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    with pytest.raises(executors.ExecutorError) as e:
        executors.ray_init(num_cpus=1, timeout_s=5)
    msg = str(e.value)
    assert "Ray did not start: a local Ray (1 CPUs) failed 2 time(s)" in msg
    assert "timed out during startup" in msg and "Load average" in msg and "DCAI_RAY_TIMEOUT_S" in msg
    assert "--executor serial" in msg and "No Ray process of these attempts is left running" in msg
    assert all(executors._processes_with(m) == [] for m in seen)
    assert not any(Path(m).exists() for m in seen), "attempts without logs leave no temp dir"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process listing via /proc")
def test_a_real_ray_start_that_fails_midway_leaves_no_process(monkeypatch):
    """Real Ray: GCS and raylet (which spawns the dashboard and runtime-env agents) are started, then the start fails
    (as on a loaded machine). The failed start's processes are all terminated — the old code left a
    `ray::DashboardAgent` orphan."""
    import re

    import ray._private.node as node

    from bench import executors

    executors.ray_shutdown()  # a Ray left by an earlier test would make ray_init return at once (nothing to fail)
    real = node.Node.start_ray_processes
    seen = []

    def start_then_fail(self, *a, **k):
        real(self, *a, **k)
        time.sleep(1.0)  # the raylet starts its agents meanwhile
        seen.extend(executors._processes_with(self._ray_params.temp_dir))
        raise Exception("The current node timed out during startup (injected)")

    monkeypatch.setattr(node.Node, "start_ray_processes", start_then_fail)
    with pytest.raises(executors.ExecutorError, match="injected") as e:
        executors.ray_init(num_cpus=1, retries=0, timeout_s=60)
    marker = re.search(r"(/\S*dcai-ray-[^/\s]+)/session_latest", str(e.value)).group(1)
    assert len(seen) >= 2, "GCS and raylet were running when the start failed"
    assert executors._processes_with(marker) == []
    time.sleep(1.0)  # nothing respawns either
    assert executors._processes_with(marker) == []
    assert (Path(marker) / "session_latest" / "logs").is_dir(), "the failed start's logs are kept (named in the error)"
    shutil.rmtree(marker)
