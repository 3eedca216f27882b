"""Issue #15: submissions and results that cannot be forged, crashed or injected.

One test (or parametrised group) per failure case of the issue, numbered like the issue's list; each fails on the
code before the fix. Mostly on the echo task (conftest: its metric is whatever the method returns), so they run in
milliseconds. Verification (re-running) and the atomic batch are in test_harness_verify.py; Ray and files in
test_harness_files.py.
"""
import json
import os
import shutil
import stat
import threading

import pytest
from conftest import tree_digest

from bench.cli import main
from bench.config import StrictConfig
from bench.errors import RecordError
from bench.leaderboard import rebuild
from bench.records import read_record, seal
from bench.registry import METHODS
from bench.runner import Cell, plan, run_cell, run_sweep
from bench.submit import submit


def _sweep(res, method, seeds=3, **ov):
    return run_sweep(plan(tasks=["test-echo"], methods=[method], seeds=seeds, method_overrides=ov or None), res,
                     progress=False).paths


def _as_submission(paths, dst, edit=None):
    """Copies of records as a submitter would send them (committed clean code), optionally edited and resealed."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for p in paths:
        body = json.loads(p.read_text())
        body["provenance"].update(git_sha="0" * 40, git_dirty=False)
        if edit:
            edit(body)
        f = dst / p.name
        f.write_text(json.dumps(seal(body)))
        out.append(f)
    return out


def _plant(res, body):
    """Put a resealed record into results/ at the path its content implies (the pull-request route)."""
    from bench.records import relpath_for

    body = seal(body)
    target = res / relpath_for(body["task"], body["task_version"], body["method"], body["config_hash"],
                               body["seed_index"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(body))
    return target


def _refused(files, res, lb, match, field=None):
    before = tree_digest(res, lb)
    with pytest.raises(RecordError, match=match) as e:
        submit(files, res, lb)
    if field is not None:
        assert e.value.field == field
    assert tree_digest(res, lb) == before, "a refused batch changes nothing"
    return e.value


@pytest.fixture
def board(tmp_path, echo_task):
    """results/ with echo_a (0.9) and echo_ref (reference, 1.0), 3 seeds each, and its leaderboard."""
    res, lb = tmp_path / "results", tmp_path / "leaderboard.md"
    _sweep(res, "echo_a", value=0.9, noise=0.01)
    _sweep(res, "echo_ref", value=1.0)
    rebuild(res, lb)
    return res, lb


def _rows(text):
    return [line for line in text.splitlines() if line.startswith("| ")]


# 1. all-or-nothing broken, leaderboard disabled by unbounded values ------------------------------------------------
def test_1_values_that_would_overflow_the_mean_are_refused_and_cannot_disable_the_leaderboard(board, tmp_path):
    res, lb = board
    files = _as_submission(_sweep(tmp_path / "new", "echo_b", seeds=2), tmp_path / "sub",
                           edit=lambda b: b["metrics"]["score"].update(value=1e308))
    _refused(files, res, lb, "exceeds 1e\\+100", "metrics.score.value")
    for f in files:  # the same records planted in results/ (pull-request route)
        shutil.copy(f, res / "test-echo/v1/echo_a" / f.name)
    ok, text = rebuild(res, lb, check=True)  # no OverflowError
    assert "## Records rejected" in text and text.count("exceeds 1e+100") == 2
    assert main(["leaderboard", "--results-dir", str(res), "--leaderboard", str(lb)]) == 0


# 2. numbers not protected ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,match", [
    (1.5, "above the metric's upper bound 1.0"),
    (-3.0, "below the metric's lower bound 0.0"),
    (True, "valid number"),
    ("0.99", "valid number"),
])
def test_2_impossible_values_are_refused(tmp_path, value, match):
    res, lb = tmp_path / "results", tmp_path / "lb.md"
    paths = run_sweep(plan(tasks=["toy-digits"], methods=["majority"], seeds=1), tmp_path / "new", progress=False).paths
    files = _as_submission(paths, tmp_path / "sub", edit=lambda b: b["metrics"]["accuracy"].update(value=value))
    _refused(files, res, lb, match, "metrics.accuracy.value")


def test_2_seeds_cannot_be_added_to_an_existing_row(board, tmp_path):
    res, lb = board
    before = tree_digest(res)
    # five more seeds of the suite's own echo_a row, resealed, sent as a submission
    extra = _as_submission(_sweep(tmp_path / "more", "echo_a", seeds=8, value=0.9, noise=0.01)[3:], tmp_path / "sub")
    _refused(extra, res, lb, "may not add seeds to an existing row", "seed_index")
    # the same seeds planted in results/ as submitted records: rejected by the leaderboard, the row keeps n = 3
    # (a perfect copy claiming origin 'local' is caught by re-running: test_harness_verify.py)
    for f in extra:
        body = json.loads(f.read_text())
        body["origin"] = "submitted"
        _plant(res, body)
    _, text = rebuild(res, lb, check=True)
    assert any(r.startswith("| 1 | echo_a | 3 | 0.9") for r in _rows(text))
    assert text.count("adds a seed to a row the suite created") == 5
    assert before.items() <= tree_digest(res).items()


@pytest.mark.parametrize("edit,match,field", [
    (lambda b: b.update(seed_index=-7), "seed indices are 0..n-1", "seed_index"),
    (lambda b: b.update(seed_index=10**18), "seed indices are 0..n-1", "seed_index"),
    (lambda b: b.update(seed=b["seed"] + 1), "not the seed derived from", "seed"),
    (lambda b: b.update(data_seed=b["data_seed"] + 1), "not the data seed derived from", "data_seed"),
    (lambda b: b["provenance"].update(git_sha="lol"), "full git commit hash", "provenance.git_sha"),
])
def test_2_seed_indices_derived_seeds_and_code_version_are_checked(board, tmp_path, edit, match, field):
    res, lb = board
    files = _as_submission(_sweep(tmp_path / "new", "echo_b", seeds=1), tmp_path / "sub", edit=edit)
    _refused(files, res, lb, match, field)


def test_2_a_submission_seeds_must_be_0_to_n_minus_1(board, tmp_path):
    res, lb = board
    files = _as_submission(_sweep(tmp_path / "new", "echo_b", seeds=5), tmp_path / "sub")
    _refused(files[:2] + files[3:], res, lb, "seeds are 0..n-1", "seed_index")  # seed 2 left out (cherry-picking)


# 3. reference rows made to rank ------------------------------------------------------------------------------------
def test_3_kind_comes_from_the_registry_never_from_the_record(board, tmp_path):
    res, lb = board
    # a resealed copy of the reference row's seed 0 that calls itself a method: the old leaderboard took the kind of
    # the lowest seed and ranked the reference row first
    f = next((res / "test-echo/v1/echo_ref").glob("*-s0.json"))
    body = json.loads(f.read_text())
    body["method_kind"] = "method"
    f.write_text(json.dumps(seal(body)))
    _, text = rebuild(res, lb, check=True)
    ref = [r for r in _rows(text) if "echo_ref" in r]
    assert ref == [], "the forged seed is rejected and the rest of the row is above a gap"
    assert "registered with kind 'reference'" in text
    # and a submission of a reference method is refused whatever kind it claims
    files = _as_submission(_sweep(tmp_path / "new", "echo_ref", seeds=1), tmp_path / "sub",
                           edit=lambda b: b.update(method_kind="method"))
    _refused(files, res, lb, "registered with kind 'reference'", "method_kind")


# 4. markdown injection ---------------------------------------------------------------------------------------------
class _TagCfg(StrictConfig):
    tag: str = "plain"
    value: float = 0.5


@pytest.fixture
def tagged(echo_task):
    from bench.api import register_method

    register_method("echo_tag", "test.echo", config=_TagCfg)(lambda data, cfg, ctx: cfg.value)
    yield
    METHODS.remove("echo_tag")


def test_4_labels_are_escaped_no_fake_rows_or_headings(tmp_path, tagged):
    res, lb = tmp_path / "results", tmp_path / "lb.md"
    evil = "x\n| 1 | fake_winner | 3 | 9.9999 | 0 |\n## Fake heading <script>alert(1)</script> `code`"
    _sweep(res, "echo_tag", seeds=1, tag=evil, value=0.6)
    _sweep(res, "echo_tag", seeds=1, tag="plain", value=0.5)
    rebuild(res, lb)
    text = lb.read_text()
    lines = text.splitlines()
    assert not any(line.startswith("| 1 | fake_winner") for line in lines)
    assert not any(line.startswith("## Fake heading") for line in lines)
    assert "<script>" not in text and "&lt;script&gt;" in text
    table = _rows(text)
    rows = [r for r in table if "echo_tag" in r]
    assert len(rows) == 2 and all(r.count(" | ") == table[0].count(" | ") for r in rows), rows  # no extra cells


@pytest.mark.parametrize("name,match", [("knn\n", "not a valid name"), ("a" * 300, "not a valid name"),
                                        ("../../etc", "not a valid name")])
def test_4_names_are_whole_matched_and_bounded(tmp_path, echo_task, name, match):
    res = tmp_path / "results"
    path = _sweep(res, "echo_a", seeds=1)[0]
    body = json.loads(path.read_text())
    body["method"] = body["config"]["method"] = name
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(seal(body)))
    with pytest.raises(RecordError, match=match) as e:
        read_record(bad)
    assert e.value.field == "method"
    from bench.records import write_record

    with pytest.raises(RecordError):
        write_record(res, body)
    assert sorted(p.name for p in (res / "test-echo/v1").iterdir()) == ["echo_a"], "no directory was created"


# 5. the leaderboard trusted any sealed file ------------------------------------------------------------------------
@pytest.mark.parametrize("edit,match", [
    (lambda b: [m.update(direction="min") for m in b["metrics"].values()], "direction must be"),
    (lambda b: b["config"].update(smoke=True), "smoke"),
    (lambda b: b.update(status="smoke"), "status 'smoke' needs config.smoke true"),
    (lambda b: b["metrics"].pop("loss"), "missing metric 'loss'"),
    (lambda b: b.update(family="toy.classification"), "is in family 'test.echo'"),
])
def test_5_planted_records_go_through_the_same_checks(board, edit, match):
    res, lb = board
    f = next((res / "test-echo/v1/echo_a").glob("*-s1.json"))
    body = json.loads(f.read_text())
    body["metrics"]["score"]["value"] = 5.0  # would rank first
    edit(body)
    f.unlink()
    planted = _plant(res, body)
    _, text = rebuild(res, lb, check=True)
    assert "score ↑ (primary" in text and "score ↓" not in text, "directions come from the registry"
    assert not any(r.startswith("| 1 | echo_a | 3 | 1.") or "5.0000" in r for r in _rows(text))
    rejected = text.split("## Records rejected")[1]
    assert planted.name in rejected and match in rejected


def test_5_unregistered_method_is_refused_with_the_pull_request_route(board, tmp_path):
    res, lb = board
    body = json.loads(next((res / "test-echo/v1/echo_a").glob("*-s0.json")).read_text())
    body["method"] = body["config"]["method"] = "secret_sauce"
    from bench.config import config_hash
    from bench.seeding import cell_seed

    body["config_hash"] = config_hash(body["config"])
    body["seed"] = cell_seed("test-echo", "secret_sauce", 0)
    planted = _plant(res, body)
    _, text = rebuild(res, lb, check=True)
    assert "secret" not in "".join(_rows(text))
    assert planted.name in text and "not registered: a new method enters by pull request" in text


# 6. task config compared with the protocol ----------------------------------------------------------------------------
class _SizeCfg(StrictConfig):
    n_train_max: int = 1000
    test_fraction: float = 0.25


@pytest.fixture
def sized(echo_task):
    """test-sized: the echo task with a typed task config (sizes a submitter could shrink)."""
    from bench.api import DatasetRef, register_task
    from bench.registry import TASKS
    from conftest import _EchoTask

    class _Sized(_EchoTask):
        dataset = DatasetRef("test: sized echo")
        config_cls = _SizeCfg

    t = register_task(_Sized("test-sized", n_train_max=1000))
    yield t
    TASKS.remove("test-sized")


def test_6_non_default_task_configs_get_their_own_table_and_junk_keys_are_refused(tmp_path, sized):
    res, lb = tmp_path / "results", tmp_path / "lb.md"

    def sweep(method, value, **task_ov):
        run_sweep(plan(tasks=["test-sized"], methods=[method], seeds=3, task_overrides=task_ov or None,
                       method_overrides={"value": value}), res, progress=False)

    sweep("echo_a", 0.9)
    sweep("echo_b", 0.99, n_train_max=200, test_fraction=0.02)  # smoke-sized, easier: never in the default table
    _, text = rebuild(res, lb, check=True)
    main_table, rest = text.split("Non-standard protocol (")
    assert "echo_b" not in main_table and any(r.startswith("| 1 | echo_a | 3 | 0.9") for r in _rows(main_table))
    ns = [r for r in _rows(rest) if "echo" in r]
    assert len(ns) == 1 and ns[0].startswith('| echo_b | {"n_train_max":200,"test_fraction":0.02} | 3 | 0.99'), ns
    # junk keys in the task config: rejected, never a row
    f = next((res / "test-sized/v1/echo_a").glob("*-s0.json"))
    body = json.loads(f.read_text())
    body["config"]["task_config"]["junk"] = 1
    from bench.config import config_hash

    body["config_hash"] = config_hash(body["config"])
    planted = _plant(res, body)
    _, text = rebuild(res, lb, check=True)
    assert planted.name in text and "key 'junk': unknown key" in text


# 7. crashes instead of named refusals ----------------------------------------------------------------------------
@pytest.fixture
def hostile(board, tmp_path):
    """A set of hostile files, each outside and inside results/."""
    res, lb = board
    d = tmp_path / "hostile"
    good = _as_submission(sorted((res / "test-echo/v1/echo_a").glob("*-s0.json")), d)[0]
    body = (next((res / "test-echo/v1/echo_a").glob("*-s0.json"))).read_text()
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "bigint.json").write_text(body.replace('"seed_index": 0', '"seed_index": ' + "9" * 5000))
    (d / "dupkey.json").write_text(body.replace('"seed_index": 0', '"seed_index": 0, "seed_index": 1'))
    (d / "nan.json").write_text(body.replace('"seed_index": 0', '"seed_index": NaN'))
    with open(d / "huge.json", "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB that costs nothing to create
    os.mkfifo(d / "fifo.json")
    (d / "zero.json").symlink_to("/dev/zero")
    return res, lb, good, d


EXPECT = {"deep.json": "nested deeper than", "bigint.json": "an integer of 5000 digits",
          "dupkey.json": "duplicate key 'seed_index'", "nan.json": "NaN and Infinity are refused",
          "huge.json": "larger than a record can be", "fifo.json": "not a regular file (a FIFO)",
          "zero.json": "not a regular file (a character device)"}


def _with_timeout(fn, seconds=30):
    out = {}
    t = threading.Thread(target=lambda: out.update(r=fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "hung (a FIFO opened for a blocking read?)"
    return out["r"]


def test_7_validate_names_every_problem_and_reports_every_file(hostile, capsys):
    res, lb, good, d = hostile
    names = sorted(EXPECT)
    code = _with_timeout(lambda: main(["validate", str(good), *(str(d / n) for n in names)]))
    out, err = capsys.readouterr()
    assert code == 1
    assert f"ok      {good}" in out and "1 valid, 7 invalid" in out
    for n in names:
        line = next(line for line in err.splitlines() if line.startswith(f"INVALID {d / n}:"))
        assert EXPECT[n] in line, line


def test_7_hostile_files_inside_results_are_listed_not_crashing_the_leaderboard(hostile):
    res, lb, good, d = hostile
    target = res / "test-echo/v1/echo_a"
    for n in EXPECT:
        src = d / n
        if src.is_symlink() or stat.S_ISFIFO(os.lstat(src).st_mode):
            os.rename(src, target / n)  # keep it a link / FIFO
        else:
            shutil.copy(src, target / n)
    os.symlink(res / "test-echo", res / "test-echo/v1/link_dir")  # a directory link (a loop, too)
    ok, text = _with_timeout(lambda: rebuild(res, lb, check=True))
    rejected = text.split("## Records rejected")[1]
    for n, why in EXPECT.items():
        if n == "zero.json":
            why = "a symbolic link inside results/"
        line = next(line for line in rejected.splitlines() if f"/{n}`" in line)
        assert why in line, line
    assert "link\\_dir" in rejected or "link_dir" in rejected
    assert any(r.startswith("| 1 | echo_a | 3 |") for r in _rows(text)), "the valid rows are unaffected"


def test_7_a_symlinked_directory_in_results_is_never_written_through(tmp_path, echo_task):
    res, outside = tmp_path / "results", tmp_path / "outside"
    (res / "test-echo").mkdir(parents=True)
    outside.mkdir()
    (res / "test-echo" / "v1").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RecordError, match="symbolic link"):
        run_cell(Cell("test-echo", "echo_a", 0), res)
    assert list(outside.rglob("*")) == []


def test_7_mathtext_in_a_label_cannot_crash_a_plot(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bench.escape import mpl

    label = r"knn (k=$\notacommand{x}$)"
    fig = Figure(figsize=(2, 1))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_yticks([0], [label])
    with pytest.raises(ValueError):
        fig.savefig(tmp_path / "a.png")
    ax.set_yticks([0], [mpl(label)])
    fig.savefig(tmp_path / "b.png")  # drawn as text: the label shows the dollars, no mathtext is parsed
    assert ax.get_yticklabels()[0].get_text() == mpl(label) and "$" in label


def test_escapers_hand_checked():
    from bench.escape import html, md, md_code

    assert md("a|b\nc") == "a\\|b c"
    assert md("<b>x</b> & `y` [l](u) *e* _f_ logistic_regression") == (
        "&lt;b&gt;x&lt;/b&gt; &amp; \\`y\\` \\[l\\](u) \\*e\\* \\_f\\_ logistic_regression")
    assert md("x" * 500).endswith("…") and len(md("x" * 500)) == 200
    assert md("a\u202eb") == "a b"
    assert md_code("a`b\nc") == "a\u02cbb c"
    assert html("<a href='x'>&</a>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"
