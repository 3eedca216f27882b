"""Leaderboard tables under the paired-test rule (issue #17): hand-computed tables, kinds from the registry, subset
seeds, family summaries, artifacts, non-standard tables, the power/compare commands, the site, escaping."""
import argparse
import math

import pytest

from bench.api import PROPORTION, DatasetRef, Metric, Task, register_method, register_task
from bench.config import StrictConfig, config_hash
from bench.records import Record, seal, write_record
from bench.registry import METHODS, TASKS
from bench.seeding import cell_seed, data_seed
from bench.tables import (Inputs, build_tables, cmd_compare, cmd_power, family_summary, render_leaderboard)


class _Cfg(StrictConfig):
    tag: str = ""


def make_record(task, method, seed, value, *, family="test.stats", version="1", metric="score", direction="max",
                extra=None, artifacts=None, task_config=None, method_config=None, status="ok", kind="method"):
    task_config = task_config if task_config is not None else {}
    method_config = method_config if method_config is not None else {}
    config = {"task": task, "task_version": version, "method": method, "seed_index": seed, "smoke": False,
              "task_config": task_config, "method_config": method_config}
    chash = config_hash(config)  # records as the harness writes them (they pass bench.validate when registered)
    metrics = {metric: {"value": value, "direction": direction}}
    for k, (v, d) in (extra or {}).items():
        metrics[k] = {"value": v, "direction": d}
    body = {
        "schema_version": 2, "task": task, "task_version": version, "family": family, "method": method,
        "method_kind": kind, "seed_index": seed, "seed": cell_seed(task, method, seed),
        "data_seed": data_seed(task, seed), "status": status,
        "primary_metric": metric, "metrics": metrics if status != "failed" else {}, "config": config,
        "config_hash": chash, "dataset": {"id": "test", "revision": None, "content_hash": "sha256:0"},
        "provenance": {"git_sha": "0" * 40, "git_dirty": False, "packages": {}, "python": "3.11", "platform": "x",
                       "hardware": {"cpu": "x", "cpu_count": 1, "gpu": None, "gpu_count": 0}, "wall_time_s": 0.1,
                       "peak_rss_mb": 1.0, "started_at": "2025-01-01T00:00:00Z",
                       "source": {"method_file": None, "method_sha256": None, "task_file": None,
                                  "task_sha256": None, "support_sha256": "0"}},
        "error": "boom" if status == "failed" else None, "artifacts": artifacts or {},
    }
    return Record.model_validate(seal(body))


def recs(task, method, values, **kw):
    return [make_record(task, method, i, v, **kw) for i, v in enumerate(values) if v is not None]


def table_lines(text, task):
    part = text.split(f"### {task} (v1)")[1].split("\n### ")[0].split("\n## ")[0]
    return [ln for ln in part.splitlines() if ln.startswith("| ") and not ln.startswith("| rank")]


def interval_rule_tied(a, b):
    """The old rule: mean ± sample std intervals overlap."""
    def iv(v):
        m = sum(v) / len(v)
        s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
        return m - s, m + s
    (la, ha), (lb, hb) = iv(a), iv(b)
    return not (la > hb or lb > ha)


def _t4_two_sided_p(t):
    """Two-sided p of Student's t with 4 degrees of freedom from its closed-form CDF (no scipy)."""
    u = t * t / 4
    return 2 * (1 - (0.5 + (3 / 8) * (t / math.sqrt(1 + u)) * (1 - t * t / (12 * (1 + u)))))


def test_hand_computed_tables_follow_the_paired_test_not_the_interval_rule():
    # Table 1: large shared seed effect, consistent gap. Interval rule: tie. Paired: differences 0.02,0.03,0.01,0.02,
    # 0.02 -> t = 6.3246 (df 4), p = 0.0032 -> A ranks above B.
    a1 = [0.50, 0.70, 0.90, 0.60, 0.80]
    b1 = [0.48, 0.67, 0.89, 0.58, 0.78]
    # Table 2: anti-correlated rows (A = 0.8 + e, B = 0.7825 - e). Interval rule: separated. Paired: differences
    # 0.0175 + 2e with e = (-1, 1, 0, -.5, .5)/100 -> sd 2 * sqrt(6.25e-5), t = 2.4749 (df 4), p = 0.069 -> a tie.
    e = [-0.01, 0.01, 0.0, -0.005, 0.005]
    a2 = [0.8 + x for x in e]
    b2 = [0.7825 - x for x in e]
    assert interval_rule_tied(a1, b1) and not interval_rule_tied(a2, b2)
    records = recs("t-one", "A", a1) + recs("t-one", "B", b1) + recs("t-two", "A", a2) + recs("t-two", "B", b2)
    text = render_leaderboard(Inputs(records))
    one, two = table_lines(text, "t-one"), table_lines(text, "t-two")
    assert one[0].startswith("| 1 | A | 5 | 0.7000 [") and "| best |" in one[0]
    assert one[1].startswith("| 2 | B | 5 | 0.6800 [") and "| 0.003 |" in one[1]
    t2 = 0.0175 / (2 * math.sqrt(6.25e-5) / math.sqrt(5))
    assert f"{_t4_two_sided_p(t2):.3f}" == "0.069" and f"{_t4_two_sided_p(6.324555320336759):.3f}" == "0.003"
    assert two[0].startswith("| 1= | A | 5 |") and two[1].startswith("| 1= | B | 5 |") and "| 0.069 |" in two[1]
    # the CI of the mean is the t interval: A of table 1: 0.7 ± 2.7764 * sd / sqrt(5)
    half = 2.7764451051977987 * math.sqrt(0.025) / math.sqrt(5)
    assert f"0.7000 [{0.7 - half:.4f}, {0.7 + half:.4f}]" in one[0]


@pytest.fixture
def kinds():
    """Registered methods of family test.stats with kinds; records claim other kinds, which must be ignored."""
    names = {"st_null": "null", "st_base": "baseline", "st_m1": "method", "st_m2": "method", "st_ref": "reference"}
    for n, k in names.items():
        register_method(n, "test.stats", config=_Cfg, kind=k)(lambda data, cfg, ctx: 0.0)
    yield names
    for n in names:
        METHODS.remove(n)


def test_kinds_come_from_the_registry_and_references_never_rank(kinds):
    vals = {"st_m1": [0.90, 0.91, 0.92, 0.90, 0.91], "st_base": [0.80, 0.82, 0.81, 0.80, 0.83],
            "st_null": [0.10, 0.11, 0.10, 0.09, 0.10], "st_ref": [0.99] * 5}
    # the record of st_m1 claims 'oracle' and the reference's record claims 'method': the registry decides
    records = [r for m, v in vals.items()
               for r in recs("t-k", m, v, kind={"st_m1": "oracle", "st_ref": "method"}.get(m, kinds[m]))]
    t = build_tables(records)[("test.stats", "t-k", "1")]
    got = {r.label: (r.kind, r.rank, r.top) for r in t.rows}
    assert got == {"st_m1": ("method", 1, True), "st_base": ("baseline", 2, False),
                   "st_null": ("null", 3, False), "st_ref": ("reference", None, False)}
    assert [r.label for r in t.rows][-1] == "st_ref"  # shown, last, never ranked
    lines = table_lines(render_leaderboard(Inputs(records)), "t-k")
    assert lines[-1].startswith("| — | st_ref † | 5 |")


def test_subset_seeds_not_comparable_rows_and_failed_records_are_noted():
    records = (recs("t-s", "A", [0.9, 0.91, 0.92, 0.9, 0.91, 0.9, 0.92, 0.91, 0.9, 0.92])
               + recs("t-s", "B", [0.5, 0.52, 0.51, 0.5, 0.49])  # seeds 0-4 only
               + recs("t-s", "C", [0.95, 0.97])  # 2 seeds: not comparable
               + [make_record("t-s", "D", 0, None, status="failed")])
    text = render_leaderboard(Inputs(records))
    lines = table_lines(text, "t-s")
    assert lines[0].startswith("| 1 | A | 10 |") and lines[1].startswith("| 2 | B | 5 |")
    assert lines[2].startswith("| n/c | C | 2 |") and "| n/c |" in lines[2]
    part = text.split("### t-s (v1)")[1]
    assert "Not comparable (fewer than 3 seed indices shared with the best row A; not ranked): C." in part
    assert "Seed sets differ: rows are compared on the seed indices they share (most rows: seeds 0–9" in part
    assert "B (seeds 0–4)" in part and "Not ranked: 1 failed record(s)." in part


def test_family_summary_mean_rank_and_wins_ties_losses(kinds):
    # task 1: m1 > base > null (all separated); task 2: m1 ~ base (tie), both > null; task 3: base > m1 > null
    s = [0.0, 0.05, -0.03, 0.02, 0.01, -0.02, 0.04, 0.0, 0.03, -0.01]  # shared seed effect
    jit = [0.001 * ((i * 7) % 5 - 2) for i in range(10)]

    def row(level, j=1.0):
        return [level + x + j * y for x, y in zip(s, jit)]

    records = []
    for task, levels in {"f-1": (0.9, 0.8, 0.1), "f-2": (0.8, 0.8, 0.1), "f-3": (0.7, 0.8, 0.1)}.items():
        m1, base, null = levels
        records += recs(task, "st_m1", row(m1)) + recs(task, "st_base", row(base, -1.0)) + recs(task, "st_null",
                                                                                                  row(null, 0.5))
    tables = build_tables(records)
    ranks = {k[1]: {r.label: r.rank for r in t.rows} for k, t in tables.items()}
    assert ranks == {"f-1": {"st_m1": 1, "st_base": 2, "st_null": 3}, "f-2": {"st_m1": 1, "st_base": 1, "st_null": 3},
                     "f-3": {"st_base": 1, "st_m1": 2, "st_null": 3}}
    summ = family_summary(tables.values())
    assert summ.baselines == ["st_base", "st_null"]
    by = {r.label: r for r in summ.rows}
    assert by["st_m1"].wtl == {"st_base": (1, 1, 1), "st_null": (3, 0, 0)}
    assert by["st_base"].wtl == {"st_null": (3, 0, 0)} and by["st_null"].wtl == {"st_base": (0, 0, 3)}
    assert by["st_m1"].mean_rank == pytest.approx(4 / 3) and by["st_m1"].top == 2
    assert [r.label for r in summ.rows] == ["st_base", "st_m1", "st_null"]
    text = render_leaderboard(Inputs(records))
    assert "| st_m1 | method | 1.33 | 3/3 | 2 | 1/1/1 | 3/0/0 |" in text


def test_table_artifacts_mode_and_nonstandard_protocol_table(echo_task):
    echo_task.table_artifacts = ("lr",)
    try:
        a = [make_record("test-echo", "echo_a", i, 0.9 + 0.01 * i, family="test.echo",
                         extra={"loss": (0.1, "min")}, artifacts={"lr": [0.1, 0.1, 0.01][i]}) for i in range(3)]
        ns = [make_record("test-echo", "echo_b", i, 0.95, family="test.echo", extra={"loss": (0.05, "min")},
                          task_config={"size": 10}) for i in range(3)]
        text = render_leaderboard(Inputs(a, nonstandard=ns))
    finally:
        echo_task.table_artifacts = ()
    part = text.split("### test-echo (v1)")[1]
    main, rest = part.split("Non-standard protocol")
    assert "| lr (mode) |" in main and "| 0.1 (2/3) |" in main
    assert "echo_b" not in main  # never mixed into the ranked table
    assert "| echo_b | {\"size\":10} | 3 | 0.9500 [0.9500, 0.9500] |" in rest


def _args(results, **kw):
    return argparse.Namespace(results_dir=str(results), leaderboard=None, **kw)


class _TP(Task):
    """A registered task for records read back through bench.validate (the commands read results/ that way)."""

    family = "test.stats"
    dataset = DatasetRef("test: stats")
    metrics = (Metric("score", "max", range=PROPORTION),)
    primary_metric = "score"


def test_power_and_compare_commands(tmp_path, capsys, kinds):
    base = [0.80, 0.82, 0.81, 0.80, 0.83, 0.79, 0.81, 0.82, 0.80, 0.81]
    m1 = [b + d for b, d in zip(base, [0.02, 0.03, 0.01, 0.02, 0.02, 0.025, 0.015, 0.02, 0.03, 0.01])]
    res = tmp_path / "results"
    register_task(_TP("t-p"))
    try:
        for m, v in (("st_m1", m1), ("st_base", base), ("st_null", [0.1] * 10)):
            for r in recs("t-p", m, v, kind=kinds[m], method_config={"tag": ""}):
                write_record(res, r.model_dump())
        _power_and_compare(res, capsys, m1, base)
    finally:
        TASKS.remove("t-p")


def _power_and_compare(res, capsys, m1, base):
    assert cmd_power(_args(res, task=["t-*"])) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("t-p v1"))
    d = [x - y for x, y in zip(m1, base)]
    md = sum(d) / 10
    sd = math.sqrt(sum((x - md) ** 2 for x in d) / 9)
    from bench.stats import detectable_difference

    assert line.split()[2:6] == ["10", "score", "↑", "st_m1"] and "st_base" in line
    assert f"{md:.4f}" in line and f"{sd:.4f}" in line and f"{detectable_difference(sd, 10):.4f}" in line
    assert cmd_compare(_args(res, task="t-p", version=None, metric=None, a="st_m1", b="st_base")) == 0
    out = capsys.readouterr().out
    assert f"A - B over 10 shared seeds: {md:.4f}" in out and "A is significantly better" in out
    assert "Holm over 3 pairs" in out


def test_markdown_and_site_escape_labels_and_show_top_groups(tmp_path, echo_task):
    from bench.site import build_site, esc_mpl

    evil = "<script>x</script>|`$a$`"
    res = tmp_path / "results"
    register_method("echo_s", "test.echo", config=_Cfg)(lambda data, cfg, ctx: 0.0)  # a string-valued config
    for i in range(3):
        for tag, v in ((evil, 0.9), ("plain", 0.9), ("low", 0.2)):
            write_record(res, make_record("test-echo", "echo_s", i, v + 0.001 * i, family="test.echo",
                                          extra={"loss": (0.1, "min")}, method_config={"tag": tag}).model_dump())
    try:
        _escape_checks(res, tmp_path, evil, esc_mpl, build_site)
    finally:
        METHODS.remove("echo_s")


def _escape_checks(res, tmp_path, evil, esc_mpl, build_site):
    text = render_leaderboard(Inputs([r for r in _read(res)]))
    assert "<script>" not in text and "&lt;script&gt;" in text and "\\|" in text
    site = build_site(res, tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    page = (tmp_path / "site" / "test-echo-v1.html").read_text()
    assert "<script>x" not in index + page and "&lt;script&gt;x&lt;/script&gt;" in page
    # the index shows the whole top group (both 0.9 rows, tied) with their primary values, not only the first
    top = index.split("test-echo</a>")[1].split("</tr>")[0]
    assert "echo_s (tag=plain): 0.9010" in top and "echo_s (tag=&lt;script&gt;" in top and "low" not in top
    # the task page shows CIs and per-seed points
    assert "0.9010 [0.8985, 0.9035]" in page and "s0: 0.9000, s1: 0.9010, s2: 0.9020" in page
    assert esc_mpl(evil).count("\\$") == 2
    assert any(p.name == "test-echo-v1.png" for p in site)


def _read(res):
    from bench.records import scan

    return [r for _, r in scan(res)[0]]
