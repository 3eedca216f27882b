"""Leaderboard tables: rows from records, paired-test ranks, family summaries, and their markdown rendering.

Everything here is a function of the records (and the registry's metadata), so the same records give the same
bytes. The statistics are in bench/stats.py; the rules and why they were chosen are in docs/statistics.md.

The renderer takes an `Inputs`: (ranked records, non-standard-protocol records, history records, rejected files,
verified rows). `read_inputs` builds it from bench.validate.intake (the one validation path: every record checked
against the registry) and bench.verify.verified_rows.
"""
from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import stats
from .api import UNRANKED_KINDS
from .escape import md as _md
from .escape import md_code as _md_code
from .records import Record

HEADER = "# dcai-bench leaderboard"
RANK_RULE = ("Rank = 1 + the number of rows better than this row by a chain of significant paired comparisons "
             f"(two-sided paired t-test over shared seed indices, Holm-corrected across all pairs of the table, "
             f"α = {stats.ALPHA}); rank 1 is the top group")


# -- inputs --------------------------------------------------------------------------------------------------------

@dataclass
class Inputs:
    ranked: list[Record]  # records that may rank (grouped per task and version)
    nonstandard: list[Record] = field(default_factory=list)  # task config differs from the default protocol
    history: list[Record] = field(default_factory=list)  # superseded versions / schema 1: counted, never shown
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path relative to the repo, one-line reason)
    verified: set = field(default_factory=set)  # {(task, task_version, method, config_hash)} re-run and reproduced
    differs: set = field(default_factory=set)  # rows where a re-run by `dcai-bench verify` differed


def read_inputs(results_dir: Path, root: Path | None = None) -> Inputs:
    """What the leaderboard and the site are built from: bench.validate.intake + bench.verify.verified_rows."""
    from .validate import intake

    return inputs_from_intake(intake(Path(results_dir)), results_dir, root)


def inputs_from_intake(i: Any, results_dir: Path, root: Path | None = None) -> Inputs:
    """Inputs of an Intake: ranked + smoke/failed (counted) records, non-standard, history, rejected (paths shown
    relative to `root`, e.g. the repository), and the verification marks."""
    from .verify import verified_rows

    prefix = ""
    if root is not None:
        try:
            prefix = Path(results_dir).resolve().relative_to(Path(root).resolve()).as_posix() + "/"
        except ValueError:
            prefix = ""
    rows = verified_rows(Path(results_dir), records=list(i.ranked) + list(i.nonstandard))
    return Inputs(list(i.ranked) + list(i.excluded), list(i.nonstandard), list(i.history),
                  [(prefix + p, why) for p, why in i.rejected],
                  {k for k, v in rows.items() if v.status == "verified"},
                  {k for k, v in rows.items() if v.status == "differs"})


def rejected_pairs(problems: Iterable, root: Path | None) -> list[tuple[str, str]]:
    out = []
    for p in problems:
        path = Path(p.path) if getattr(p, "path", None) else None
        if path is not None and root is not None:
            try:
                path = path.resolve().relative_to(Path(root).resolve())
            except ValueError:
                pass
        out.append((str(path), str(p).split(": ", 1)[-1].splitlines()[0]))
    return sorted(out)


# -- rows and tables -----------------------------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    method: str
    kind: str  # from the registry when the method is registered
    config_hash: str
    n: int  # seeds with a value of the primary metric
    seeds: tuple[int, ...] = ()
    values: dict[str, dict[int, float]] = field(default_factory=dict)  # metric -> seed index -> value
    stats: dict[str, stats.Interval | None] = field(default_factory=dict)
    artifacts: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)  # key -> [(seed index, value)]
    rank: int | None = None
    tied: bool = False  # shares its rank with another row
    top: bool = False
    not_comparable: bool = False
    p_vs_best: float | None = None  # Holm-adjusted p of the comparison with the best row
    vs_best: stats.Paired | None = None
    is_best: bool = False
    verified: bool = False
    differs: bool = False  # a re-run by `dcai-bench verify` differed
    task_config: dict[str, Any] = field(default_factory=dict)

    @property
    def unranked_kind(self) -> bool:
        return self.kind in UNRANKED_KINDS


@dataclass
class Table:
    family: str
    task: str
    version: str
    primary: str
    order: list[str]  # metrics, primary first
    directions: dict[str, str]
    rows: list[Row]
    excluded: dict[str, int]
    artifact_keys: tuple[str, ...] = ()
    ranking: stats.Ranking | None = None
    nonstandard: list[Row] = field(default_factory=list)
    seed_note: str = ""  # set when rows do not all have the same seed indices
    untested: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self):  # the former tuple interface: rows, excluded, order, directions, primary
        return iter((self.rows, self.excluded, self.order, self.directions, self.primary))

    @property
    def sign(self) -> float:
        return 1.0 if self.directions.get(self.primary, "max") == "max" else -1.0

    @property
    def top_group(self) -> list[Row]:
        return [r for r in self.rows if r.top]

    def row(self, name: str) -> Row:
        """A row by label, or by method name when that method has one row."""
        for r in self.rows + self.nonstandard:
            if r.label == name:
                return r
        hits = [r for r in self.rows if r.method == name]
        if len(hits) == 1:
            return hits[0]
        from .errors import BenchError

        known = ", ".join(r.label for r in self.rows)
        why = "several settings; name one by its label" if hits else "no such row"
        raise BenchError(f"task '{self.task}' v{self.version}: '{name}': {why} (rows: {known})")


def method_kind(name: str) -> str:
    """The method's kind from the registry, never from a record; an unregistered method ranks as a method."""
    from .registry import METHODS

    spec = METHODS._items.get(name)
    return spec.kind if spec is not None else "method"


def _row_labels(configs: dict[tuple[str, str], dict]) -> dict[tuple[str, str], str]:
    """A method with one setting is labelled by its name; several settings of one method are told apart by the
    method-config keys whose values differ (e.g. `flat (divergence=js)`), else by a config-hash prefix."""
    by_method: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in configs:
        by_method[key[0]].append(key)
    out = {}
    for m, keys in by_method.items():
        if len(keys) == 1:
            out[keys[0]] = m
            continue
        mcs = [configs[k].get("method_config", {}) for k in keys]
        diff = sorted({k for mc in mcs for k in mc if len({repr(x.get(k)) for x in mcs}) > 1})
        labels = {k: f"{m} ({', '.join(f'{d}={mc.get(d)}' for d in diff)})" for k, mc in zip(keys, mcs)} if diff else {}
        for k in keys:
            lab = labels.get(k)
            out[k] = lab if lab and list(labels.values()).count(lab) == 1 else f"{m} [cfg {k[1][:8]}]"
    return out


def _metric_order(task_name: str, version: str, primary: str, directions: dict[str, str]) -> list[str]:
    from .registry import TASKS

    task = TASKS._items.get(task_name)  # registry metadata when the task is known (never required)
    if task is not None and task.version == version:
        order = [m.name for m in task.metrics if m.name in directions]
        order += sorted(set(directions) - set(order))
    else:
        order = sorted(directions)
    if primary in order:
        order.remove(primary)
    order.insert(0, primary)
    return order


def _rows_from(recs: list[Record], order: list[str], artifact_keys: tuple[str, ...], primary: str,
               verified: set, task: str, version: str, bounds: dict[str, tuple] | None = None,
               differs: set = frozenset()) -> list[Row]:
    by_cfg: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in recs:
        by_cfg[(r.method, r.config_hash)].append(r)
    labels = _row_labels({k: v[0].config for k, v in by_cfg.items()})
    rows = []
    for (m, h), rs in sorted(by_cfg.items()):
        rs = sorted(rs, key=lambda r: r.seed_index)
        values = {name: {r.seed_index: r.metrics[name].value for r in rs
                         if name in r.metrics and r.metrics[name].value is not None} for name in order}
        st = {name: (stats.t_interval(list(v.values()), bounds=(bounds or {}).get(name, (None, None))) if v else None)
              for name, v in values.items()}
        arts = {k: [(r.seed_index, r.artifacts[k]) for r in rs if k in r.artifacts] for k in artifact_keys}
        prim = values.get(primary, {})
        rows.append(Row(labels[(m, h)], m, method_kind(m), h, len(prim), tuple(sorted(prim)), values, st, arts,
                        verified=(task, version, m, h) in verified,
                        task_config=dict(rs[0].config.get("task_config", {})),
                        differs=(task, version, m, h) in differs))
    return rows


def _apply_ranking(rows: list[Row], primary: str, direction: str) -> stats.Ranking:
    series = {r.label: r.values.get(primary, {}) for r in rows}
    ranking = stats.rank_rows(series, direction, unranked=[r.label for r in rows if r.unranked_kind])
    counts = Counter(rr.rank for rr in ranking.rows.values() if rr.rank is not None)
    for r in rows:
        rr = ranking.rows[r.label]
        r.rank, r.top, r.not_comparable = rr.rank, rr.top, rr.not_comparable
        r.tied = r.rank is not None and counts[r.rank] > 1
        r.is_best = r.label == ranking.anchor
        r.vs_best, r.p_vs_best = rr.vs_anchor, rr.p_vs_anchor
    sign = 1.0 if direction == "max" else -1.0

    def key(r: Row):
        m = r.stats[primary].mean if r.stats.get(primary) else None
        group = 2 if r.unranked_kind or m is None else (1 if r.rank is None else 0)
        return (group, r.rank or 0, -sign * m if m is not None else 0.0, r.label)

    rows.sort(key=key)
    return ranking


def _seed_note(rows: list[Row]) -> str:
    sets = Counter(r.seeds for r in rows if not r.unranked_kind and r.seeds)
    if len(sets) <= 1:
        return ""
    common = sets.most_common(1)[0][0]
    odd = [f"{r.label} ({_seed_span(r.seeds)})" for r in rows if not r.unranked_kind and r.seeds and r.seeds != common]
    return (f"Seed sets differ: rows are compared on the seed indices they share (most rows: {_seed_span(common)}; "
            + ", ".join(odd) + ").")


def _seed_span(seeds: tuple[int, ...]) -> str:
    if seeds and list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}"
    return "seeds " + ",".join(map(str, seeds))


def _group(records: Iterable[Record]) -> dict[tuple[str, str, str], list[Record]]:
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[(r.family, r.task, r.task_version)].append(r)
    return groups


def build_tables(records: list[Record], nonstandard: list[Record] = (), verified: set = frozenset(),
                 differs: set = frozenset()) -> dict[tuple[str, str, str], Table]:
    """(family, task, version) -> Table, sorted by key. Smoke and failed records are counted, never ranked."""
    from .registry import TASKS

    groups = _group(records)
    ns_groups = _group(nonstandard)
    out = {}
    for key in sorted(set(groups) | set(ns_groups)):
        family, task_name, version = key
        recs = groups.get(key, [])
        ns = [r for r in ns_groups.get(key, []) if r.rankable]
        excluded = {"smoke": sum(r.status == "smoke" for r in recs + ns_groups.get(key, [])),
                    "failed": sum(r.status == "failed" for r in recs + ns_groups.get(key, []))}
        ok = [r for r in recs if r.rankable]
        allrecs = recs + ns_groups.get(key, [])
        task = TASKS._items.get(task_name)
        reg = task is not None and task.version == version
        primary = task.primary_metric if reg else sorted({r.primary_metric for r in allrecs})[0]
        directions: dict[str, str] = {}
        for r in sorted(ok + ns, key=lambda r: (r.method, r.config_hash, r.seed_index)):
            for name, mv in r.metrics.items():
                directions.setdefault(name, mv.direction)
        if reg:  # directions from the registry, never from a record, when the task is known
            directions.update({m.name: m.direction for m in task.metrics if m.name in directions})
        order = _metric_order(task_name, version, primary, directions)
        artifact_keys = tuple(task.table_artifacts) if reg else ()
        bounds = {m.name: m.range for m in task.metrics if m.range is not None} if reg else {}
        rows = _rows_from(ok, order, artifact_keys, primary, verified, task_name, version, bounds, differs)
        ranking = _apply_ranking(rows, primary, directions.get(primary, "max"))
        ns_rows = _rows_from(ns, order, artifact_keys, primary, verified, task_name, version, bounds, differs)
        ns_rows.sort(key=lambda r: (r.label, json.dumps(r.task_config, sort_keys=True, default=str)))
        t = Table(family, task_name, version, primary, order, directions, rows, excluded, artifact_keys, ranking,
                  ns_rows, _seed_note(rows))
        t.untested = sorted(ranking.untested)
        out[key] = t
    return out


def current_tables(tables: dict[tuple[str, str, str], Table]) -> dict[str, Table]:
    """One table per task: the registered version when present, else the highest version in the records."""
    from .registry import TASKS

    by_task: dict[str, list[Table]] = defaultdict(list)
    for t in tables.values():
        by_task[t.task].append(t)
    out = {}
    for name, ts in sorted(by_task.items()):
        reg = TASKS._items.get(name)
        pick = [t for t in ts if reg is not None and t.version == reg.version]
        out[name] = pick[0] if pick else max(ts, key=lambda t: _version_key(t.version))
    return out


def _version_key(v: str):
    return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"[.\-]", v)]


# -- family summaries ----------------------------------------------------------------------------------------------

@dataclass
class SummaryRow:
    label: str
    kind: str
    ranks: dict[str, int]  # task -> rank
    tasks: int  # tasks where the row appears (ranked or not comparable)
    top: int  # tasks where the row is in the top group
    wtl: dict[str, tuple[int, int, int]]  # baseline label -> (wins, ties, losses) over tasks where both were tested

    @property
    def mean_rank(self) -> float | None:
        return stats.mean(list(self.ranks.values())) if self.ranks else None


@dataclass
class FamilySummary:
    family: str
    tasks: list[str]
    baselines: list[str]
    rows: list[SummaryRow]


def family_summary(tables: Iterable[Table]) -> FamilySummary | None:
    """Across the tables of one family (current versions): mean rank of each row label, top-group count, and
    wins/ties/losses against each baseline/null row (win = significantly better by the table's Holm-corrected
    paired test on that task; pairs not tested on a task are not counted)."""
    tables = sorted(tables, key=lambda t: t.task)
    if not tables:
        return None
    labels: dict[str, str] = {}
    for t in tables:
        for r in t.rows:
            if not r.unranked_kind:
                labels.setdefault(r.label, r.kind)
    baselines = sorted(lab for lab, k in labels.items() if k in ("baseline", "null"))
    rows = []
    for lab, kind in labels.items():
        ranks, tasks, top = {}, 0, 0
        wtl = {b: [0, 0, 0] for b in baselines if b != lab}
        for t in tables:
            r = next((x for x in t.rows if x.label == lab and not x.unranked_kind), None)
            if r is None:
                continue
            tasks += 1
            if r.rank is not None:
                ranks[t.task] = r.rank
            top += r.top
            for b in wtl:
                res = t.ranking.pairs.get((lab, b)) if t.ranking else None
                if res is None:
                    continue
                pr, q = res
                if q is not None and q <= stats.ALPHA and pr.diff:
                    wtl[b][0 if t.sign * pr.diff > 0 else 2] += 1
                else:
                    wtl[b][1] += 1
        rows.append(SummaryRow(lab, kind, ranks, tasks, top, {b: tuple(v) for b, v in wtl.items()}))
    rows.sort(key=lambda s: (s.mean_rank is None, s.mean_rank or 0.0, -s.top, s.label))
    return FamilySummary(tables[0].family, [t.task for t in tables], baselines, rows)


# -- formatting ----------------------------------------------------------------------------------------------------

def fmt_value(x: float | None) -> str:
    return "—" if x is None else f"{x + 0.0:.4f}".replace("-0.0000", "0.0000")


def fmt_interval(iv: stats.Interval | None, n_row: int | None = None) -> str:
    """`mean [lo, hi]` (95% t interval); a bare mean for n = 1; `(n=k)` when the metric has fewer values than the
    row."""
    if iv is None:
        return "—"
    s = f"{iv.mean:.4f}" if iv.lo is None else f"{iv.mean:.4f} [{iv.lo:.4f}, {iv.hi:.4f}]"
    if n_row is not None and iv.n != n_row:
        s += f" (n={iv.n})"
    return s


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def rank_cell(r: Row) -> str:
    if r.unranked_kind:
        return "—"
    if r.not_comparable or r.rank is None:
        return "n/c"
    return f"{r.rank}{'=' if r.tied else ''}"


def p_cell(r: Row) -> str:
    if r.unranked_kind or r.rank is None and not r.not_comparable:
        return "—"
    if r.is_best:
        return "best"
    if r.not_comparable:
        return "n/c"
    return fmt_p(r.p_vs_best)


def artifact_mode(values: list[tuple[int, Any]]) -> str:
    """The most frequent value over seeds (ties: the first seen in seed order), with `(k/n)` unless unanimous."""
    if not values:
        return "—"
    enc = [json.dumps(v, sort_keys=True, separators=(",", ":"), default=str) for _, v in values]
    counts = Counter(enc)
    best = max(counts.values())
    mode = next(e for e in enc if counts[e] == best)
    shown = mode if len(mode) <= 40 else mode[:37] + "..."
    return shown if best == len(enc) else f"{shown} ({best}/{len(enc)})"


def short_json(v: Any, width: int = 40) -> str:
    s = json.dumps(v, sort_keys=True, separators=(",", ":"), default=str)
    return s if len(s) <= width else s[: width - 3] + "..."


def table_notes(t: Table) -> list[str]:
    """Plain-text notes under a task table (escape before rendering)."""
    notes = []
    nc = [r.label for r in t.rows if r.not_comparable]
    if nc:
        best = next((r.label for r in t.rows if r.is_best), "?")
        notes.append(f"Not comparable (fewer than {stats.MIN_SHARED} seed indices shared with the best row {best}; "
                     f"not ranked): {', '.join(nc)}.")
    if t.seed_note:
        notes.append(t.seed_note)
    if t.untested:
        notes.append("Pairs not tested (fewer than 3 shared seeds): "
                     + "; ".join(f"{a} vs {b}" for a, b in t.untested) + ".")
    ex = [f"{v} {k}" for k, v in t.excluded.items() if v]
    if ex:
        notes.append(f"Not ranked: {', '.join(ex)} record(s).")
    return notes


# -- markdown ------------------------------------------------------------------------------------------------------

def _arrow(t: Table, m: str) -> str:
    return "↑" if t.directions.get(m, "max") == "max" else "↓"


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text and "\n" not in text and "|" not in text else _md(text)


def verify_mark(r: Row) -> str:
    """' ✓' re-run and reproduced, ' ✗' a re-run differed, '' not verified."""
    return " ✗" if r.differs else (" ✓" if r.verified else "")


def render_task_markdown(t: Table) -> list[str]:
    from .registry import TASKS

    lines = [f"### {_md(t.task)} (v{_md(t.version)})", ""]
    task = TASKS._items.get(t.task)
    if task is not None and task.version == t.version:
        if task.description:
            lines.append(_md(task.description))
        ds = task.dataset
        rev = f" @ {_code(ds.revision)}" if ds.revision else ""
        lines.append(f"Data: {_code(ds.id)}{rev}" + (f"; offline default: {_md(ds.offline_default)}"
                                                     if ds.offline_default else ""))
        lines.append("")
    head = ["rank", "method", "n"]
    head += [f"{_md(t.primary)} {_arrow(t, t.primary)} (primary, 95% CI)", "p vs best"]
    head += [f"{_md(m)} {_arrow(t, m)}" for m in t.order[1:]]
    head += [f"{_md(k)} (mode)" for k in t.artifact_keys]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * len(head)) + "|")
    for r in t.rows:
        label = _md(r.label) + (" †" if r.unranked_kind else "") + verify_mark(r)
        cells = [rank_cell(r), label, str(r.n), fmt_interval(r.stats.get(t.primary), r.n), p_cell(r)]
        cells += [fmt_interval(r.stats.get(m), r.n) for m in t.order[1:]]
        cells += [_md(artifact_mode(r.artifacts.get(k, []))) for k in t.artifact_keys]
        lines.append("| " + " | ".join(cells) + " |")
    if not t.rows:
        lines.append("| — | (no ranked records) | 0 |" + " |" * (len(head) - 3))
    notes = table_notes(t)
    if notes:
        lines.append("")
        lines += [_md(n) for n in notes]
    if t.nonstandard:
        lines += ["", f"Non-standard protocol (the task config differs from the task's default; never ranked, "
                      f"not comparable with the table above):", ""]
        nh = ["method", "task config", "n"] + [f"{_md(m)} {_arrow(t, m)}" for m in t.order]
        lines.append("| " + " | ".join(nh) + " |")
        lines.append("|" + "|".join(["---"] * len(nh)) + "|")
        for r in t.nonstandard:
            cfg = _md(short_json(_config_diff(t.task, r.task_config), 60))
            cells = [_md(r.label) + (" †" if r.unranked_kind else "") + verify_mark(r), cfg, str(r.n)]
            cells += [fmt_interval(r.stats.get(m), r.n) for m in t.order]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _config_diff(task_name: str, task_config: dict) -> dict:
    """The task-config keys that differ from the task's default protocol (all keys when the task is unknown)."""
    from .registry import TASKS

    task = TASKS._items.get(task_name)
    if task is None:
        return task_config
    try:
        default = task.config_cls(**task.params).model_dump(mode="json")
    except Exception:  # noqa: BLE001 - a description, never a check
        return task_config
    return {k: v for k, v in sorted(task_config.items()) if default.get(k, object()) != v}


def render_summary_markdown(s: FamilySummary) -> list[str]:
    lines = [f"**Family summary** ({len(s.tasks)} task(s): {_md(', '.join(s.tasks))}): mean rank over the tasks a "
             "row is ranked in; top = tasks in the top group; W/T/L vs a baseline = tasks where the row is "
             "significantly better / not different / significantly worse (the table's Holm-corrected paired test).",
             ""]
    head = ["method", "kind", "mean rank", "ranked in", "top"] + [f"W/T/L vs {_md(b)}" for b in s.baselines]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * len(head)) + "|")
    for r in s.rows:
        mr = "—" if r.mean_rank is None else f"{r.mean_rank:.2f}"
        cells = [_md(r.label), r.kind, mr, f"{len(r.ranks)}/{r.tasks}", str(r.top)]
        cells += ["—" if b not in r.wtl else ("/".join(map(str, r.wtl[b])) if sum(r.wtl[b]) else "n/c")
                  for b in s.baselines]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def render_leaderboard(inp: Inputs) -> str:
    from .registry import discover

    discover()
    lines = [HEADER, "",
             "Generated by `dcai-bench leaderboard` from the records in `results/`; do not edit by hand.",
             "Cells: mean [95% t confidence interval] over seeds; n = seeds. Rows are compared by a two-sided paired "
             "t-test on the per-seed differences over the seed indices both rows share (every method of a task sees "
             "the same data per seed index), Holm-corrected across all pairs of the table.",
             f"{RANK_RULE}; `=` marks a shared rank. p vs best: the Holm-adjusted p-value against the row with "
             "the best mean. n/c: not comparable (fewer than 3 shared seeds). Reference/oracle rows (†) are shown, "
             "never ranked. ✓: re-run and reproduced by `dcai-bench verify`; ✗: a re-run differed. Smoke and failed "
             "records never rank. "
             "Rules and seed counts: [docs/statistics.md](docs/statistics.md); `dcai-bench power` prints the "
             "smallest difference each task's seeds can detect.", ""]
    tables = build_tables(inp.ranked, inp.nonstandard, inp.verified, inp.differs)
    current = current_tables(tables)
    by_family: dict[str, list[tuple[tuple[str, str, str], Table]]] = defaultdict(list)
    for key, t in tables.items():
        by_family[t.family].append((key, t))
    for family in sorted(by_family):
        lines += [f"## {_md(family)}", ""]
        doc = family_doc(family)
        if doc:
            lines += [f"Docs: [{doc}]({doc})", ""]
        summ = family_summary([t for _, t in by_family[family] if current.get(t.task) is t and t.rows])
        if summ is not None and len(summ.tasks) > 1:
            lines += render_summary_markdown(summ)
        for _, t in by_family[family]:
            lines += render_task_markdown(t)
    if not tables:
        lines += ["(no records yet)", ""]
    if inp.history:
        lines += history_lines(inp.history)
    if inp.rejected:
        lines += ["## Records rejected", "", "These files failed a check (bench/validate.py) and were not used:", ""]
        for path, reason in sorted(inp.rejected):
            lines.append(f"- `{_md_code(path)}`: {_md(reason)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def history_lines(history: list[Record]) -> list[str]:
    counts = Counter((r.task, r.task_version, r.schema_version) for r in history)
    lines = ["## History (not ranked)", "",
             "Records of superseded task versions or of schema 1, kept in `results/` and not shown above:", ""]
    for (task, version, schema), n in sorted(counts.items()):
        lines.append(f"- {_md(task)} v{_md(version)}: {n} record(s)" + (" (schema 1)" if schema == 1 else ""))
    lines.append("")
    return lines


FAMILY_DOCS = {"label_noise": "label_noise", "sft": "sft", "unlearning": "unlearning", "preference": "preference",
               "crowd": "crowd", "federated": "federated", "fairness": "fairness"}


def family_doc(family: str) -> str | None:
    """docs/<name>.md for a family name (by its prefix before the first dot), when the file exists."""
    from .provenance import REPO_ROOT

    name = FAMILY_DOCS.get(family.split(".")[0])
    if name is None or not (REPO_ROOT / "docs" / f"{name}.md").exists():
        return None
    return f"docs/{name}.md"


# -- power and compare (CLI) ---------------------------------------------------------------------------------------

@dataclass
class PowerLine:
    task: str
    version: str
    n: int
    primary: str
    direction: str
    top: str
    baseline: str | None
    diff: float | None  # top - baseline, oriented so that > 0 means top is better
    sd_diff: float | None
    shared: int
    detectable: float | None
    p: float | None
    seeds_for_diff: int | None
    tests: int = 0  # pairs tested in the table (the Holm family)
    detectable_table: float | None = None  # at alpha / tests: the first, strictest Holm step


def power_line(t: Table) -> PowerLine | None:
    """Top method vs main baseline of a table: top = the best-mean row of kind 'method' (else the best row), main
    baseline = the best-mean row of kind 'baseline' (else 'null'); the sd of their per-seed differences gives the
    smallest difference the shared seeds detect (paired t, alpha 0.05, power 0.8)."""
    ranked = [r for r in t.rows if not r.unranked_kind and r.stats.get(t.primary) is not None]
    if not ranked:
        return None
    bymean = sorted(ranked, key=lambda r: (-t.sign * r.stats[t.primary].mean, r.label))
    top = next((r for r in bymean if r.kind == "method"), bymean[0])
    base = next((r for r in bymean if r.kind == "baseline" and r is not top), None) or \
        next((r for r in bymean if r.kind == "null" and r is not top), None)
    n = max(r.n for r in ranked)
    if base is None:
        return PowerLine(t.task, t.version, n, t.primary, t.directions.get(t.primary, "max"), top.label, None,
                         None, None, 0, None, None, None)
    pr = stats.paired_test(top.values[t.primary], base.values[t.primary])
    sd = pr.sd
    det = stats.detectable_difference(sd, pr.n) if sd is not None and pr.n >= 2 else None
    diff = None if pr.diff is None else t.sign * pr.diff
    need = stats.seeds_needed(diff, sd) if diff and sd is not None else None
    m = t.ranking.tests if t.ranking is not None else 0
    det_t = stats.detectable_difference(sd, pr.n, alpha=stats.ALPHA / m) if m and det is not None else None
    return PowerLine(t.task, t.version, n, t.primary, t.directions.get(t.primary, "max"), top.label, base.label,
                     diff, sd, pr.n, det, pr.p, need, m, det_t)


def power_report(tables: dict[tuple[str, str, str], Table], patterns: list[str] | None = None) -> list[PowerLine]:
    cur = current_tables(tables)
    names = [n for n in cur if not patterns or any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    return [pl for n in names if (pl := power_line(cur[n])) is not None]


def format_power(lines: list[PowerLine]) -> str:
    head = ["task", "n", "primary", "top (method)", "main baseline", "shared", "Δ top-base", "p", "sd(Δ)",
            "detectable Δ", "seeds for Δ", "pairs", "detectable Δ (table)"]
    out = [head]
    for p in lines:
        out.append([f"{p.task} v{p.version}", str(p.n), f"{p.primary} {'↑' if p.direction == 'max' else '↓'}",
                    p.top, p.baseline or "—", str(p.shared), fmt_value(p.diff), fmt_p(p.p), fmt_value(p.sd_diff),
                    fmt_value(p.detectable), "—" if p.seeds_for_diff is None else str(p.seeds_for_diff),
                    str(p.tests), fmt_value(p.detectable_table)])
    w = [max(len(r[i]) for r in out) for i in range(len(head))]
    txt = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in out]
    txt.insert(1, "  ".join("-" * x for x in w))
    txt.append("")
    txt.append("Δ: top minus main baseline on the seeds they share, oriented so that > 0 favours the top row; "
               "detectable Δ: smallest true difference the paired t-test finds with power 0.8 at α = 0.05 two-sided "
               "(noncentral t) given sd(Δ) and the shared seeds; seeds for Δ: seeds needed to detect the observed Δ "
               "(one comparison); detectable Δ (table): the same at α / pairs, the strictest step of the table's "
               "Holm correction over its pairs (a difference this large separates the two rows with power 0.8 wherever "
               "their p-value falls in the Holm order).")
    return "\n".join(txt)


def compare(t: Table, a: str, b: str, metric: str | None = None) -> tuple[Row, Row, str, stats.Paired]:
    ra, rb = t.row(a), t.row(b)
    metric = metric or t.primary
    if metric not in t.order:
        from .errors import BenchError

        raise BenchError(f"task '{t.task}': no metric '{metric}' (metrics: {', '.join(t.order)})")
    return ra, rb, metric, stats.paired_test(ra.values.get(metric, {}), rb.values.get(metric, {}))


def format_compare(t: Table, ra: Row, rb: Row, metric: str, pr: stats.Paired) -> str:
    d = t.directions.get(metric, "max")
    ia, ib = ra.stats.get(metric), rb.stats.get(metric)
    lines = [f"{t.task} v{t.version}, metric {metric} ({'higher' if d == 'max' else 'lower'} is better)",
             f"  A = {ra.label}: {fmt_interval(ia)} (n={ia.n if ia else 0})",
             f"  B = {rb.label}: {fmt_interval(ib)} (n={ib.n if ib else 0})"]
    if pr.n < stats.MIN_SHARED:
        lines.append(f"  shared seeds: {pr.n}: not comparable (a paired test needs at least {stats.MIN_SHARED})")
        return "\n".join(lines)
    ci = "" if pr.lo is None else f" [{pr.lo:.4f}, {pr.hi:.4f}]"
    lines.append(f"  A - B over {pr.n} shared seeds: {pr.diff:.4f}{ci} (95% CI), sd of differences "
                 f"{fmt_value(pr.sd)}")
    verdict = "no significant difference"
    if pr.p is not None and pr.p <= stats.ALPHA and pr.diff:
        better = pr.diff > 0 if d == "max" else pr.diff < 0
        verdict = f"{'A' if better else 'B'} is significantly better"
    lines.append(f"  paired t-test (two-sided, unadjusted): p = {pr.p:.3g} -> {verdict} at α = {stats.ALPHA}")
    if t.ranking is not None:
        res = t.ranking.pairs.get((ra.label, rb.label))
        if res is not None:
            lines.append(f"  in the leaderboard table (Holm over {t.ranking.tests} pairs): adjusted p = "
                         f"{res[1]:.3g}; ranks {rank_cell(ra)} vs {rank_cell(rb)}")
    return "\n".join(lines)


def _pick_table(tables: dict[tuple[str, str, str], Table], task: str, version: str | None) -> Table:
    from .errors import BenchError

    if version is not None:
        hit = [t for t in tables.values() if t.task == task and t.version == version]
        if not hit:
            raise BenchError(f"no ranked records for task '{task}' v{version}")
        return hit[0]
    cur = current_tables(tables)
    if task not in cur:
        raise BenchError(f"no ranked records for task '{task}' (tasks with records: {', '.join(cur) or 'none'})")
    return cur[task]


def _cli_results(args) -> Path:
    from .cli import _results

    return _results(args)


def cmd_power(args) -> int:
    from .registry import discover

    discover()
    inp = read_inputs(_cli_results(args))
    lines = power_report(build_tables(inp.ranked), args.task)
    if not lines:
        print("no ranked records" + (f" for {', '.join(args.task)}" if args.task else ""))
        return 1
    print(format_power(lines))
    return 0


def cmd_compare(args) -> int:
    from .registry import discover

    discover()
    inp = read_inputs(_cli_results(args))
    t = _pick_table(build_tables(inp.ranked), args.task, args.version)
    print(format_compare(t, *compare(t, args.a, args.b, args.metric)))
    return 0
