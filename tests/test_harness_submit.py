import json
import shutil

import pytest
from conftest import tree_digest

from bench.cli import main
from bench.errors import RecordError
from bench.leaderboard import rebuild
from bench.records import seal
from bench.runner import plan, run_sweep
from bench.submit import submit


@pytest.fixture
def setup(tmp_path):
    """An existing results dir + leaderboard, and a separate dir of 3 new records (knn) to submit."""
    res, new = tmp_path / "results", tmp_path / "new"
    run_sweep(plan(tasks=["toy-digits"], methods=["majority"], seeds=3), res, progress=False)
    lb = tmp_path / "leaderboard.md"
    rebuild(res, lb)
    s = run_sweep(plan(tasks=["toy-digits"], methods=["knn"], seeds=3), new, progress=False)
    files = []
    for p in s.paths:  # fake a committed code version (tests may run on an uncommitted tree)
        body = json.loads(p.read_text())
        body["provenance"]["git_sha"] = body["provenance"]["git_sha"] or "0" * 40
        body["provenance"]["git_dirty"] = False
        dst = tmp_path / p.name
        dst.write_text(json.dumps(seal(body)))
        files.append(dst)
    return res, lb, files


def test_valid_submission_lands_and_rebuilds(setup):
    res, lb, files = setup
    written = submit(files, res, lb)
    assert len(written) == 3 and all(p.exists() for p in written)
    assert json.loads(written[0].read_text())["origin"] == "submitted"
    assert "| 1 | knn | 3 |" in lb.read_text()


def _rejects(files, res, lb, match, field):
    before = tree_digest(res, lb)
    with pytest.raises(RecordError, match=match) as e:
        submit(files, res, lb)
    assert e.value.field == field
    assert tree_digest(res, lb) == before, "nothing in results/ or leaderboard.md changes on rejection"
    return e.value


def _edit(path, fn, reseal=True):
    body = json.loads(path.read_text())
    fn(body)
    path.write_text(json.dumps(seal(body) if reseal else body))


def test_rejections_name_the_field_and_file_and_change_nothing(setup, tmp_path):
    res, lb, files = setup
    _edit(files[2], lambda b: b["metrics"].pop("balanced_accuracy"))
    e = _rejects(files, res, lb, "missing metric 'balanced_accuracy'", "metrics.balanced_accuracy")
    assert e.path == str(files[2])


@pytest.mark.parametrize("edit,match,field", [
    (lambda b: b.update(task="toy-digitz"), "unknown task 'toy-digitz'", "task"),
    (lambda b: b.update(task_version="9"), "version 1", "task_version"),
    (lambda b: b.update(status="smoke"), "only status 'ok'", "status"),
    (lambda b: b["metrics"]["accuracy"].update(direction="min"), "direction must be 'max'", "metrics.accuracy.direction"),
    (lambda b: b["metrics"]["accuracy"].update(value="high"), "valid number", "metrics.accuracy.value"),
    (lambda b: b["config"]["method_config"].update(k=7), "hash of the stored config", "config_hash"),
    (lambda b: b["config"]["method_config"].update(junk=1), "key 'junk': unknown key", "config.method_config"),
    (lambda b: b["provenance"].update(git_sha=None), "code version", "provenance.git_sha"),
    (lambda b: b["provenance"].pop("hardware"), "required", "provenance.hardware"),
    (lambda b: b.update(surprise=1), "unknown field", "surprise"),
    (lambda b: b.update(schema_version=99), "unsupported schema_version", "schema_version"),
])
def test_each_malformed_field_is_named(setup, edit, match, field):
    res, lb, files = setup
    _edit(files[0], edit)
    _rejects(files, res, lb, match, field)


def test_unsealed_edit_and_torn_file_rejected(setup):
    res, lb, files = setup
    _edit(files[0], lambda b: b["metrics"]["accuracy"].update(value=1.0), reseal=False)
    _rejects(files, res, lb, "checksum mismatch", "record_sha256")
    files[0].write_text(files[1].read_text()[:100])
    _rejects(files, res, lb, "not valid JSON", None)


def test_duplicates_refused(setup):
    res, lb, files = setup
    dup = files[0].with_name("copy.json")
    shutil.copy(files[0], dup)
    _rejects(files + [dup], res, lb, "duplicate of", "seed_index")
    submit(files, res, lb)
    _rejects(files[:1], res, lb, "may not add seeds to an existing row", "seed_index")


def test_cli_validate_and_submit_exit_codes(setup, capsys):
    res, lb, files = setup
    assert main(["validate", *map(str, files)]) == 0
    _edit(files[1], lambda b: b.update(status="failed", error="x"))
    assert main(["validate", *map(str, files)]) == 1
    assert "field 'status'" in capsys.readouterr().err
    before = tree_digest(res, lb)
    assert main(["submit", "--results-dir", str(res), "--leaderboard", str(lb), *map(str, files)]) == 2
    assert tree_digest(res, lb) == before
