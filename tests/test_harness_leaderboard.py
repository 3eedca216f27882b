import json

from conftest import tree_digest

from bench.leaderboard import rebuild
from bench.records import read_record, scan
from bench.runner import Cell, plan, run_cell, run_sweep


def _sweep(tmp_path, echo_task):
    res = tmp_path / "results"
    run_sweep(plan(tasks=["test-echo"], methods=["echo_a"], method_overrides={"value": 0.9, "noise": 0.01}), res,
              progress=False)
    run_sweep(plan(tasks=["test-echo"], methods=["echo_b"], method_overrides={"value": 0.5, "noise": 0.01}), res,
              progress=False)
    run_sweep(plan(tasks=["test-echo"], methods=["echo_ref"], method_overrides={"value": 1.0}), res, progress=False)
    return res


def test_leaderboard_is_byte_identical_on_rebuild(tmp_path, echo_task):
    res = _sweep(tmp_path, echo_task)
    out = tmp_path / "leaderboard.md"
    rebuild(res, out)
    first = out.read_bytes()
    out.unlink()
    rebuild(res, out)
    assert out.read_bytes() == first
    ok, _ = rebuild(res, out, check=True)
    assert ok
    text = first.decode()
    lines = [l for l in text.splitlines() if l.startswith("| ")]
    assert lines[0].startswith("| rank | method | n | score ↑ (primary, 95% CI) | p vs best | loss ↓")
    assert lines[1].startswith("| 1 | echo_a | 3 | 0.9")
    assert lines[2].startswith("| 2 | echo_b | 3 | 0.5")
    assert lines[3].startswith("| — | echo_ref † | 3 | 1.0000 [1.0000, 1.0000] | — |")


def test_smoke_and_failed_records_never_rank(tmp_path, echo_task):
    res = tmp_path / "r"
    run_sweep(plan(tasks=["test-echo"], methods=["echo_a"], smoke=True, seeds=2), res, progress=False)
    run_cell(Cell("test-echo", "echo_b", 0, method_overrides=(("fail", True),)), res)
    out = tmp_path / "lb.md"
    rebuild(res, out)
    text = out.read_text()
    assert "(no ranked records)" in text and "Not ranked: 2 smoke, 1 failed record(s)." in text


def test_torn_and_tampered_records_are_detected_and_not_ranked(tmp_path, echo_task):
    res = _sweep(tmp_path, echo_task)
    a_files = sorted((res / "test-echo/v1/echo_a").glob("*.json"))
    # torn write: truncated JSON
    a_files[0].write_text(a_files[0].read_text()[:200])
    # tampering: edit a metric without resealing
    body = json.loads(a_files[1].read_text())
    body["metrics"]["score"]["value"] = 0.1
    a_files[1].write_text(json.dumps(body))
    good, bad = scan(res)
    assert len(good) == 7 and len(bad) == 2
    reasons = " ".join(str(e) for e in bad)
    assert "not valid JSON" in reasons and "checksum mismatch" in reasons
    out = tmp_path / "lb.md"
    rebuild(res, out)
    text = out.read_text()
    # a row's seeds are 0..n-1: the intact seed 2 alone is not a row (no cherry-picked seeds), so echo_a is out
    assert "| echo_a |" not in text and "seed index 2 without seed index 0" in text
    assert "## Records rejected" in text and a_files[0].name in text and a_files[1].name in text


def test_misplaced_record_is_rejected(tmp_path, echo_task):
    res = _sweep(tmp_path, echo_task)
    f = next((res / "test-echo/v1/echo_a").glob("*-s0.json"))
    f.rename(res / "test-echo/v1/echo_b" / f.name)
    _, bad = scan(res)
    assert len(bad) == 1 and "wrong path" in str(bad[0])


def test_task_versions_never_share_a_table(tmp_path, echo_task):
    res = _sweep(tmp_path, echo_task)
    out = tmp_path / "lb.md"
    echo_task.version = "2"
    try:
        run_sweep(plan(tasks=["test-echo"], methods=["echo_a"]), res, progress=False)
        rebuild(res, out)
    finally:
        echo_task.version = "1"
    text = out.read_text()
    # the superseded version is history: counted, never shown next to (or mixed with) the current one
    assert "### test-echo (v1)" not in text and "### test-echo (v2)" in text
    assert "## History (not ranked)" in text and "- test-echo v1: 9 record(s)" in text
    v2 = text.split("### test-echo (v2)")[1]
    assert "echo_b" not in v2 and "| 1 | echo_a | 3 |" in v2


def test_check_mode_detects_a_stale_leaderboard(tmp_path, echo_task):
    res = _sweep(tmp_path, echo_task)
    out = tmp_path / "lb.md"
    rebuild(res, out)
    before = tree_digest(out)
    run_cell(Cell("test-echo", "echo_a", 5), res)
    ok, _ = rebuild(res, out, check=True)
    assert not ok and tree_digest(out) == before


def test_toy_null_baseline_lands_at_chance_and_real_methods_beat_it(tmp_path):
    res = tmp_path / "r"
    run_sweep(plan(tasks=["toy-digits"], seeds=3), res, progress=False)
    recs = [read_record(p) for p, in [(p,) for p in sorted(res.rglob("*.json"))]]
    acc = {}
    for r in recs:
        acc.setdefault(r.method, []).append(r.metrics["accuracy"].value)
    assert all(abs(a - 0.1) < 0.02 for a in acc["majority"])  # 10 balanced classes
    assert min(acc["logistic_regression"]) > 0.9 and min(acc["knn"]) > 0.95
    out = tmp_path / "lb.md"
    rebuild(res, out)
    rows = [l for l in out.read_text().splitlines() if l.startswith("| ") and "majority" in l]
    assert rows and rows[0].startswith("| 3 | majority")


def test_several_settings_of_one_method_are_labelled_by_what_differs(tmp_path, echo_task):
    res = tmp_path / "r"
    for v in (0.9, 0.5):
        run_sweep(plan(tasks=["test-echo"], methods=["echo_a"], seeds=3, method_overrides={"value": v}), res,
                  progress=False)
    out = tmp_path / "lb.md"
    rebuild(res, out)
    text = out.read_text()
    assert "| 1 | echo_a (value=0.9) | 3 |" in text and "| 2 | echo_a (value=0.5) | 3 |" in text
