"""Issue #15: verification by re-running (what a seal cannot prove), atomic submission batches, and the intake's
classification (history, row rules). Echo-task records: milliseconds per cell."""
import json
import os

import pytest
from conftest import tree_digest

from bench.cli import main
from bench.leaderboard import rebuild
from bench.records import seal
from bench.runner import plan, run_sweep
from bench.submit import submit


def _sweep(res, method, seeds=3, **ov):
    return run_sweep(plan(tasks=["test-echo"], methods=[method], seeds=seeds, method_overrides=ov or None), res,
                     progress=False).paths


def _edit(path, fn):
    body = json.loads(path.read_text())
    fn(body)
    path.write_text(json.dumps(seal(body)))


@pytest.fixture
def board(tmp_path, echo_task):
    res, lb = tmp_path / "results", tmp_path / "leaderboard.md"
    _sweep(res, "echo_a", value=0.9, noise=0.01)
    _sweep(res, "echo_b", value=0.5, noise=0.01)
    rebuild(res, lb)
    return res, lb


def _row(text, label):
    return next(line for line in text.splitlines() if line.startswith("| ") and f"| {label}" in line)


def _without_verified(res):
    return {k: v for k, v in tree_digest(res).items() if not k.endswith("VERIFIED.json")}


# -- verify -----------------------------------------------------------------------------------------------------------
def test_verify_reproduces_records_exactly_and_marks_the_row(board, capsys):
    res, lb = board
    before = _without_verified(res)
    files = sorted(str(p) for p in (res / "test-echo/v1/echo_a").glob("*.json"))
    assert main(["verify", "--quiet", "--results-dir", str(res), *files]) == 0
    out = capsys.readouterr().out
    assert "test-echo (v1): reproduced — 3/3 cells reproduced, largest |diff| 0" in out
    table = [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines() if line.startswith("| test")]
    assert table == [["test-echo", "1", "3", "3", "0", "0", "0", "0", "0"]]  # the results table
    assert _without_verified(res) == before, "verify re-runs into a temp dir: results/ is untouched"
    rebuild(res, lb)
    text = lb.read_text()
    assert "| echo_a ✓ |" in _row(text, "echo_a") and "✓" not in _row(text, "echo_b")


def test_verify_catches_a_resealed_forgery_the_seal_cannot(board, capsys):
    res, lb = board
    forged = sorted((res / "test-echo/v1/echo_b").glob("*.json"))
    diff = f"{abs(0.95 - json.loads(forged[1].read_text())['metrics']['score']['value']):.3g}"
    _edit(forged[1], lambda b: b["metrics"]["score"].update(value=0.95))  # valid, sealed, in range: accepted
    rebuild(res, lb)
    assert "## Records rejected" not in lb.read_text()
    assert main(["verify", "--quiet", "--results-dir", str(res), *map(str, forged)]) == 1
    out = capsys.readouterr().out
    assert f"test-echo (v1): differs — 2/3 cells reproduced, largest |diff| {diff} (echo_b/s1 score)" in out
    assert f"DIFFERS    test-echo/v1/echo_b/{forged[1].name}: largest |diff| {diff} in score" in out
    rebuild(res, lb)
    assert "| echo_b ✗ |" in _row(lb.read_text(), "echo_b")


def test_a_verified_mark_is_bound_to_the_record_seal(board):
    res, lb = board
    files = sorted((res / "test-echo/v1/echo_a").glob("*.json"))
    assert main(["verify", "--quiet", "--results-dir", str(res), *map(str, files)]) == 0
    from bench.verify import verified_rows

    key = next(iter(verified_rows(res)))
    assert verified_rows(res)[key].reproduced == 3
    _edit(files[0], lambda b: b["provenance"].update(wall_time_s=1.0))  # any change to the record drops its mark
    assert verified_rows(res)[key].checked == 2


def test_verify_suite_mode_compares_planned_cells_and_reports_missing_ones(tmp_path, echo_task, capsys):
    res = tmp_path / "results"
    _sweep(res, "echo_a", seeds=2)
    code = main(["verify", "--quiet", "--no-record", "--results-dir", str(res), "--task", "test-echo", "--seeds", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "test-echo (v1): reproduced — 2/6 cells reproduced" in out
    assert out.count("MISSING") == 4 and "no record in results/ for this cell" in out
    assert not (res / "VERIFIED.json").exists()
    assert main(["verify", "--quiet", "--results-dir", str(res), "--task", "test-echo", "--method", "echo_b"]) == 1


def test_verify_samples_files_reproducibly(board, capsys):
    res, lb = board
    files = sorted(str(p) for p in res.rglob("*-s*.json"))
    assert main(["verify", "--quiet", "--no-record", "--sample", "2", "--sample-seed", "7", *files]) == 0
    out = capsys.readouterr().out
    assert "random sample of 2 file(s) (sample seed 7" in out and "2 cell(s) re-run and compared" in out


# -- atomic batches ---------------------------------------------------------------------------------------------------
@pytest.fixture
def batch(board, tmp_path):
    res, lb = board
    new = _sweep(tmp_path / "new", "echo_a", seeds=3, value=0.7)
    files = []
    for p in new:
        body = json.loads(p.read_text())
        body["provenance"].update(git_sha="0" * 40, git_dirty=False)
        f = tmp_path / p.name
        f.write_text(json.dumps(seal(body)))
        files.append(f)
    return res, lb, files


def test_submit_builds_the_leaderboard_before_writing_anything(batch, monkeypatch):
    res, lb, files = batch
    before = tree_digest(res, lb)
    import bench.tables

    def boom(*a, **k):
        raise OverflowError("table building crashed")

    monkeypatch.setattr(bench.tables, "build_tables", boom)
    with pytest.raises(OverflowError):
        submit(files, res, lb)
    assert tree_digest(res, lb) == before


def test_submit_rolls_back_when_a_write_fails_midway(batch, monkeypatch):
    res, lb, files = batch
    before = tree_digest(res, lb)
    import bench.submit

    real, calls = bench.submit.commit_staged, []

    def flaky(tmp, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(tmp, path)

    monkeypatch.setattr(bench.submit, "commit_staged", flaky)
    with pytest.raises(OSError, match="No space left"):
        submit(files, res, lb)
    assert len(calls) == 3
    assert tree_digest(res, lb) == before
    assert not [p for p in res.rglob(".*.tmp")] and not list(lb.parent.glob(".*.tmp"))
    monkeypatch.setattr(bench.submit, "commit_staged", real)
    written = submit(files, res, lb)
    assert len(written) == 3 and "echo_a (noise=0.0, value=0.7)" in lb.read_text()


def test_whole_row_resubmission_replaces_the_row(batch, tmp_path):
    res, lb, files = batch
    submit(files, res, lb)
    again = []
    for f in files:  # the same author re-runs the row with a fixed bug: every seed re-submitted
        g = tmp_path / "again" / f.name
        g.parent.mkdir(exist_ok=True)
        body = json.loads(f.read_text())
        body["metrics"]["score"]["value"] = 0.71
        g.write_text(json.dumps(seal(body)))
        again.append(g)
    notes = []
    submit(again, res, lb, notes=notes)
    assert len(notes) == 1 and "replaces the row test-echo v1 echo_a" in notes[0]
    assert "| echo_a (noise=0.0, value=0.7) | 3 | 0.7100 [0.7100, 0.7100]" in lb.read_text()


# -- intake -----------------------------------------------------------------------------------------------------------
def test_schema_1_and_superseded_versions_are_history(board):
    res, lb = board
    from bench.validate import intake

    f = next((res / "test-echo/v1/echo_b").glob("*-s0.json"))

    def schema1(b):
        b["schema_version"] = 1
        b["provenance"].pop("source")

    _edit(f, schema1)
    got = intake(res)
    assert len(got.history) == 1
    assert sorted(why for _, why in got.rejected) == [f"seed index {i} without seed index 0: a row's seeds are 0..n-1"
                                                       for i in (1, 2)]
    assert {r.method for r in got.ranked} == {"echo_a"}


def test_a_row_mixing_code_versions_is_rejected(board):
    res, lb = board
    from bench.validate import intake

    f = next((res / "test-echo/v1/echo_a").glob("*-s2.json"))
    _edit(f, lambda b: b["provenance"]["source"].update(method_sha256="f" * 64))
    got = intake(res)
    assert sum("mixes 2 versions of the method's or task's code" in why for _, why in got.rejected) == 3
    assert {r.method for r in got.ranked} == {"echo_b"}


def test_check_record_interface(board):
    from bench.errors import RecordError
    from bench.records import read_record
    from bench.validate import check_record

    res, _ = board
    f = next((res / "test-echo/v1/echo_a").glob("*-s0.json"))
    check_record(read_record(f), str(f))
    with pytest.raises(RecordError, match="git_dirty must be false") as e:
        check_record(read_record(f).model_copy(update={"provenance": read_record(f).provenance.model_copy(
            update={"git_sha": "a" * 40, "git_dirty": True})}), str(f), submission=True)
    assert e.value.field == "provenance.git_dirty" and e.value.path == str(f)
    assert os.path.basename(str(f)) in str(e.value)
