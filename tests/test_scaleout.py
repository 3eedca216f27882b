"""Scale-out executors and reliability: ray/submitit == serial, kill -9 then resume, null baselines in place."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from bench.leaderboard import build_tables, rebuild
from bench.records import read_record, scan
from bench.runner import plan, run_sweep

ROOT = Path(__file__).resolve().parent.parent


def _metrics(paths, root):
    out = {}
    for p in paths:
        r = read_record(p)
        out[str(Path(p).relative_to(root))] = {k: v.value for k, v in r.metrics.items()}
    return out


def test_ray_executor_gives_the_serial_results(tmp_path):
    from bench.executors import run_ray

    cells = plan(tasks=["toy-digits"], seeds=2)
    serial = run_sweep(cells, tmp_path / "serial", progress=False)
    dist = run_ray(cells, tmp_path / "ray", num_cpus=2, progress=False)
    assert dist.outcomes == {"ok": 6}
    assert _metrics(serial.paths, tmp_path / "serial") == _metrics(dist.paths, tmp_path / "ray")
    assert {read_record(p).provenance.executor for p in dist.paths} == {"ray"}
    # and the leaderboards are byte-identical
    rebuild(tmp_path / "serial", tmp_path / "a.md")
    rebuild(tmp_path / "ray", tmp_path / "b.md")
    assert (tmp_path / "a.md").read_bytes() == (tmp_path / "b.md").read_bytes()


def test_submitit_executor_gives_the_serial_results(tmp_path, monkeypatch):
    from bench.executors import run_submitit

    cells = plan(tasks=["toy-digits"], methods=["knn", "majority"], seeds=1)
    serial = run_sweep(cells, tmp_path / "serial", progress=False)
    dist = run_submitit(cells, tmp_path / "slurm", cluster="debug")
    assert _metrics(serial.paths, tmp_path / "serial") == _metrics(dist.paths, tmp_path / "slurm")
    assert {read_record(p).provenance.executor for p in dist.paths} == {"slurm"}


def test_kill_9_mid_sweep_then_resume_gives_a_byte_identical_leaderboard(tmp_path, monkeypatch, capsys):
    """A sweep killed with SIGKILL in the middle of a cell (here: the third of five, which blocks until killed) leaves
    the finished cells' records intact; the resumed sweep skips them and ends with the leaderboard of an uninterrupted
    sweep. Reference and resume run in this process; only the killed sweep is a separate process."""
    import importlib

    from bench.cli import main
    from bench.registry import METHODS

    sys.path.insert(0, str(ROOT / "tests"))
    monkeypatch.delenv("DCAI_TEST_BLOCK_AT", raising=False)
    importlib.import_module("_blocking_method")
    args = ["run", "--task", "toy-digits", "--method", "blocking_knn", "--seeds", "5", "--quiet"]
    try:
        ref = tmp_path / "ref"
        assert main([*args, "--results-dir", str(ref)]) == 0
        res, marker = tmp_path / "killed", tmp_path / "blocked"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DCAI_TEST_BLOCK_AT": "2", "DCAI_TEST_MARKER": str(marker)}
        code = ("import sys; sys.path.insert(0, 'tests'); import _blocking_method; from bench.cli import main; "
                f"sys.exit(main({[*args, '--results-dir', str(res)]!r}))")
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.time() + 300
        while time.time() < deadline and not marker.exists() and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), f"the sweep never reached the blocking cell: {proc.stderr.read()[-2000:]!r}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        assert sorted(p.name[-8:] for p in res.rglob("*.json")) == ["-s0.json", "-s1.json"]
        assert main([*args, "--results-dir", str(res)]) == 0
        out = capsys.readouterr().out
        assert "skipped=2" in out and "ok=3" in out
        rebuild(ref, tmp_path / "ref.md")  # while the method is registered (records of unregistered methods are refused)
        rebuild(res, tmp_path / "res.md")
    finally:
        METHODS.remove("blocking_knn")
        sys.path.remove(str(ROOT / "tests"))
    assert (tmp_path / "ref.md").read_bytes() == (tmp_path / "res.md").read_bytes()
    assert "Records rejected" not in (tmp_path / "res.md").read_text()
    assert not [p for p in res.rglob("*") if p.name.endswith(".tmp")]


def test_committed_results_put_null_baselines_below_the_best_method_and_never_rank_oracles():
    """On every committed task table: some non-null method ranks at least as well as every null baseline, and
    reference/oracle rows have no rank."""
    pairs, bad = scan(ROOT / "results")
    assert not bad
    tables = build_tables([r for _, r in pairs])
    assert len(tables) >= 10
    for key, (rows, *_rest) in tables.items():
        nulls = [r for r in rows if r.kind == "null"]
        methods = [r for r in rows if r.kind in ("method", "baseline") and r.rank is not None]
        assert methods, key
        for n in nulls:
            assert n.rank is not None and min(m.rank for m in methods) <= n.rank, (key, n.label)
        assert all(r.rank is None for r in rows if r.kind in ("reference", "oracle")), key
