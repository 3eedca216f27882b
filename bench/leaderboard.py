"""Leaderboard: rebuilt from result records only, deterministically (same records -> byte-identical file).

One table per (task, task version). Each row is a (method, config hash) with mean ± std over seeds (sample std,
ddof=1), the seed count and a rank. Ranks are tie-aware: a row's rank is 1 + the number of rows whose interval
[mean - std, mean + std] lies entirely on the better side of its own; rows sharing a rank are marked '='.
Smoke and failed records never rank; reference and oracle methods are shown but not ranked.

Input comes from bench.validate.intake only (the one validation path): records that fail a check are listed under
"Records rejected" with their reason, records of a non-default task config go to a separate "non-standard protocol"
table, records of superseded task versions or schema 1 are counted as history. Every string from a record is escaped
(bench.escape.md) before it reaches the markdown.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .api import UNRANKED_KINDS
from .escape import md, md_code
from .records import Record, atomic_write_text
from .registry import TASKS, discover

HEADER = "# dcai-bench leaderboard"


@dataclass
class Row:
    label: str
    method: str
    kind: str
    config_hash: str
    n: int
    stats: dict[str, tuple[float | None, float | None]]  # metric -> (mean, std)
    rank: int | None = None
    tied: bool = False


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    m = math.fsum(vals) / len(vals)
    s = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return m, s


def assign_ranks(rows: list[Row], metric: str, direction: str) -> None:
    """Tie-aware ranks over rankable rows (see module doc). Rows without a value get no rank."""
    sign = 1.0 if direction == "max" else -1.0
    ranked = [r for r in rows if r.kind not in UNRANKED_KINDS and r.stats.get(metric, (None, None))[0] is not None]
    iv = {}
    for r in ranked:
        m, s = r.stats[metric]
        lo, hi = sign * m - (s or 0.0), sign * m + (s or 0.0)  # in "higher is better" orientation
        iv[id(r)] = (lo, hi)
    for r in ranked:
        lo, _ = iv[id(r)]
        r.rank = 1 + sum(1 for o in ranked if o is not r and iv[id(o)][0] > iv[id(r)][1])
    counts: dict[int, int] = defaultdict(int)
    for r in ranked:
        counts[r.rank] += 1  # type: ignore[index]
    for r in ranked:
        # tied: shares its rank, or its interval overlaps a row with a different rank
        r.tied = counts[r.rank] > 1 or any(  # type: ignore[index]
            o is not r and not (iv[id(o)][0] > iv[id(r)][1] or iv[id(r)][0] > iv[id(o)][1]) for o in ranked)


def _fmt(m: float | None, s: float | None, n: int) -> str:
    if m is None:
        return "—"
    if n <= 1:
        return f"{m:.4f}"
    return f"{m:.4f} ± {s:.4f}"


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


def build_tables(records: list[Record]) -> dict[tuple[str, str, str], tuple[list[Row], dict[str, int], list[str], dict[str, str], str]]:
    """(family, task, version) -> (rows, excluded counts, metric order, directions, primary)."""
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[(r.family, r.task, r.task_version)].append(r)
    out = {}
    for key in sorted(groups):
        recs = groups[key]
        excluded = {"smoke": sum(r.status == "smoke" for r in recs), "failed": sum(r.status == "failed" for r in recs)}
        ok = [r for r in recs if r.rankable]
        primary = sorted({r.primary_metric for r in recs})[0]
        directions: dict[str, str] = {}
        for r in sorted(ok, key=lambda r: (r.method, r.config_hash, r.seed_index)):
            for name, mv in r.metrics.items():
                directions.setdefault(name, mv.direction)
        task = TASKS._items.get(key[1])  # registry metadata when the task is known (never required)
        if task is not None and task.version == key[2]:
            order = [m.name for m in task.metrics if m.name in directions]
            order += sorted(set(directions) - set(order))
        else:
            order = sorted(directions)
        if primary in order:
            order.remove(primary)
        order.insert(0, primary)
        by_cfg: dict[tuple[str, str], list[Record]] = defaultdict(list)
        for r in ok:
            by_cfg[(r.method, r.config_hash)].append(r)
        labels = _row_labels({k: v[0].config for k, v in by_cfg.items()})
        rows = []
        for (m, h), rs in sorted(by_cfg.items()):
            rs = sorted(rs, key=lambda r: r.seed_index)
            stats = {name: _mean_std([r.metrics[name].value for r in rs if name in r.metrics]) for name in order}
            label = labels[(m, h)]
            rows.append(Row(label, m, rs[0].method_kind, h, len({r.seed_index for r in rs}), stats))
        assign_ranks(rows, primary, directions.get(primary, "max"))
        sign = 1.0 if directions.get(primary, "max") == "max" else -1.0
        rows.sort(key=lambda r: (r.rank is None, r.rank or 0,
                                 -(sign * r.stats[primary][0]) if r.stats[primary][0] is not None else 0.0, r.label))
        out[key] = (rows, excluded, order, directions, primary)
    return out


def _verify_mark(v: object | None) -> str:
    if v is None:
        return ""
    if getattr(v, "differs", 0):
        return f" ✗ (re-run differs on {v.differs}/{v.checked} seeds)"
    return f" ✓ ({v.reproduced}/{v.checked} seeds re-run)" if getattr(v, "checked", 0) else ""


def _task_tables(lines: list[str], tables: dict, verified: dict | None,
                 notes: dict[tuple[str, str], str] | None = None) -> None:
    nonstandard = notes is not None
    fam = None
    for (family, task, version), (rows, excluded, order, directions, primary) in tables.items():
        if family != fam and not nonstandard:
            lines += [f"## {md(family)}", ""]
            fam = family
        t = TASKS._items.get(task)
        if nonstandard:
            lines.append(f"### {md(task)} (v{md(version)}): non-standard protocol (not ranked with the default)")
            lines.append("")
            lines.append("Rows whose task config differs from the task's default protocol; the label says how. "
                         "Ranked among themselves only.")
            lines.append("")
        else:
            lines.append(f"### {md(task)} (v{md(version)})")
            lines.append("")
            if t is not None and t.version == version:
                if t.description:
                    lines.append(md(t.description, max_len=None))
                ds = t.dataset
                rev = f" @ `{md_code(ds.revision)}`" if ds.revision else ""
                lines.append(f"Data: `{md_code(ds.id)}`{rev}"
                             + (f"; offline default: {md(ds.offline_default, max_len=None)}" if ds.offline_default else ""))
                lines.append("")
        arrows = {m: ("↑" if directions.get(m, "max") == "max" else "↓") for m in order}
        head = ["rank", "method", "n"] + [f"{md(m)} {arrows[m]}" + (" (primary)" if m == primary else "") for m in order]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] * len(head)) + "|")
        for r in rows:
            if r.rank is None:
                rank = "—"
            else:
                rank = f"{r.rank}{'=' if r.tied else ''}"
            mark = _verify_mark((verified or {}).get((task, version, r.method, r.config_hash)))
            label = r.label + (f" [task: {notes.get((r.method, r.config_hash), '')}]" if nonstandard else "")
            label = md(label) + (" †" if r.kind in UNRANKED_KINDS else "") + mark
            cells = [rank, label, str(r.n)] + [_fmt(*r.stats[m], r.n) for m in order]
            lines.append("| " + " | ".join(cells) + " |")
        if not rows:
            lines.append("| — | (no ranked records) | 0 |" + " |" * (len(head) - 3))
        counts = [f"{v} {k}" for k, v in excluded.items() if v]
        if counts:
            lines.append("")
            lines.append(f"Not ranked: {', '.join(counts)} record(s).")
        lines.append("")


def _protocol_notes(records: list[Record]) -> dict[tuple[str, str], str]:
    """(method, config hash) -> how the row's task config differs from the task's default protocol."""
    from .validate import protocol_diff

    out = {}
    for r in records:
        if (r.method, r.config_hash) not in out:
            out[(r.method, r.config_hash)] = ", ".join(f"{k}={a}" for k, (a, _) in protocol_diff(r).items())
    return out


def render(records: list[Record], problems: list[tuple[str, str]], root: Path | None = None, *,
           nonstandard: list[Record] = (), history: int = 0, verified: dict | None = None) -> str:
    """The leaderboard text. `records`: ranked records plus the smoke/failed ones (counted); `problems`: (path
    relative to the results root, reason) of rejected files; `nonstandard`: records of another task config (their own
    tables); `history`: count of superseded-version / schema-1 records; `verified`: bench.verify.verified_rows."""
    discover()
    lines = [HEADER, "",
             "Generated by `dcai-bench leaderboard` from the records in `results/`; do not edit by hand.",
             "Cells: mean ± sample std over seeds; n = seeds. Rank = 1 + rows whose mean±std interval is entirely better;",
             "`=` marks a row whose interval overlaps another row's (a statistical tie). Reference/oracle rows (†) are not ranked.",
             "Smoke and failed records never rank. ✓: seeds of the row were re-run by `dcai-bench verify` and reproduced;",
             "✗: a re-run differed; no mark: not verified.", ""]
    tables = build_tables(records)
    _task_tables(lines, tables, verified)
    if nonstandard:
        lines += ["## Non-standard protocol", ""]
        _task_tables(lines, build_tables(list(nonstandard)), verified, notes=_protocol_notes(list(nonstandard)))
    if not tables and not nonstandard:
        lines += ["(no records yet)", ""]
    if history:
        lines += [f"History: {history} record(s) of superseded task versions or of record schema 1 are kept in "
                  "`results/` and not shown.", ""]
    if problems:
        lines += ["## Records rejected", "", "These files failed a check and were not used:", ""]
        for path, why in sorted(problems):
            lines.append(f"- `{md_code(path)}`: {md(why, max_len=300)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_intake(intake: object, results_dir: Path) -> str:
    """The leaderboard of an Intake (bench.validate) over results_dir, with the verification marks."""
    from .verify import verified_rows

    ranked_and_counted = list(intake.ranked) + list(intake.excluded)
    verified = verified_rows(results_dir, records=list(intake.ranked) + list(intake.nonstandard))
    return render(ranked_and_counted, intake.rejected, nonstandard=intake.nonstandard, history=len(intake.history),
                  verified=verified)


def rebuild(results_dir: Path, out: Path, check: bool = False) -> tuple[bool, str]:
    """Render the leaderboard for results_dir. check=True: compare with `out` instead of writing.
    Returns (up_to_date_or_written, text)."""
    from .validate import intake

    text = render_intake(intake(Path(results_dir)), Path(results_dir))
    if check:
        return out.exists() and out.read_text() == text, text
    if not out.exists() or out.read_text() != text:
        atomic_write_text(out, text)
    return True, text
