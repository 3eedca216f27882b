"""Scale-out executors and reliability: ray/submitit == serial, kill -9 then resume, null baselines in place."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_kill_9_mid_sweep_then_resume_gives_a_byte_identical_leaderboard(tmp_path):
    args = ["--task", "adc-robust-digits-sym40", "--method", "ce", "--seeds", "5", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ref = tmp_path / "ref"
    subprocess.run([sys.executable, "-m", "bench", "run", *args, "--results-dir", str(ref)], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=600)
    res = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", *args, "--results-dir", str(res)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(res.rglob("*-s*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(res.rglob("*-s*.json")))
    assert 2 <= done < 5, "the sweep was killed in the middle"
    out = subprocess.run([sys.executable, "-m", "bench", "run", *args, "--results-dir", str(res)], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True, timeout=600).stdout
    assert f"skipped={done}" in out
    rebuild(ref, tmp_path / "ref.md")
    rebuild(res, tmp_path / "res.md")
    assert (tmp_path / "ref.md").read_bytes() == (tmp_path / "res.md").read_bytes()
    assert "Records rejected" not in (tmp_path / "res.md").read_text()


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
