"""Static leaderboard site: `dcai-bench leaderboard --html DIR` writes

* index.html: per family, a link to the family's docs, the family summary, and per task its description, data
  line, seed count and whole top group with primary values;
* one page per task and version: the table (mean [95% CI], p vs best, ranks), per-seed values of the primary metric
  and of the task's table artifacts, notes, the non-standard-protocol table, and a plot of the CIs with per-seed
  points;
* docs/<family>.html (and docs/statistics.html): the repository's docs rendered, with their images.

Built only from the records (and the repo's docs), deterministically: the same inputs give byte-identical files.
All text is escaped (HTML for pages, mathtext-free labels for matplotlib).
"""
from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

from .provenance import REPO_ROOT
from .records import atomic_write_text
from .tables import (FAMILY_DOCS, RANK_RULE, Inputs, Table, artifact_mode, build_tables, current_tables,
                     family_doc, family_summary, fmt_interval, fmt_value, history_lines, p_cell, rank_cell,
                     read_inputs, short_json, table_notes, verify_mark)

from .escape import html as esc
from .escape import mpl as esc_mpl

SORT_JS = """<script>
function sortTable(th){const t=th.closest('table'),i=[...th.parentNode.children].indexOf(th),
asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';const rows=[...t.tBodies[0].rows];
const key=r=>{const v=parseFloat(r.cells[i].dataset.v);return isNaN(v)?r.cells[i].textContent:v};
rows.sort((a,b)=>{const x=key(a),y=key(b);return (x>y?1:x<y?-1:0)*(asc?1:-1)});rows.forEach(r=>t.tBodies[0].appendChild(r));}
</script>"""
STYLE = ("<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}th{cursor:pointer;background:#f4f4f4}"
         "tr.top td{background:#eef6ee}img{max-width:900px}.note{color:#444;font-size:90%}"
         "td.seeds{font-family:monospace;font-size:85%}</style>")


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>{STYLE}{SORT_JS}"
            f"</head><body>{body}</body></html>\n")


def _th(names: list[str]) -> str:
    return "".join(f"<th onclick='sortTable(this)'>{esc(h)}</th>" for h in names)


def _arrow(t: Table, m: str) -> str:
    return "↑" if t.directions.get(m, "max") == "max" else "↓"


# -- plot ----------------------------------------------------------------------------------------------------------

def _plot(path: Path, t: Table) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in t.rows if r.stats.get(t.primary) is not None]
    with plt.rc_context({"text.usetex": False, "svg.hashsalt": "dcai-bench"}):
        fig, ax = plt.subplots(figsize=(8, 0.5 * max(3, len(rows)) + 1.2))
        labels = []
        for y, r in enumerate(rows):
            iv = r.stats[t.primary]
            color = "grey" if r.unranked_kind else ("tab:green" if r.top else "black")
            if iv.lo is not None:
                ax.errorbar(iv.mean, y, xerr=[[iv.mean - iv.lo], [iv.hi - iv.mean]], fmt="o", color=color,
                            capsize=4, zorder=3)
            else:
                ax.plot([iv.mean], [y], "o", color=color, zorder=3)
            vals = sorted(r.values.get(t.primary, {}).items())
            if vals:
                k = len(vals)
                offs = [0.0] if k == 1 else [-0.25 + 0.5 * i / (k - 1) for i in range(k)]
                ax.scatter([v for _, v in vals], [y + o for o in offs], s=14, alpha=0.55, color="tab:blue",
                           zorder=2)
            labels.append(esc_mpl(f"{rank_cell(r)}  {r.label}" + (" †" if r.unranked_kind else "")))
        ax.set_yticks(range(len(rows)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(esc_mpl(f"{t.primary} {_arrow(t, t.primary)}  (mean, 95% CI; dots: seeds)"))
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=80, metadata={"Software": None})
        plt.close(fig)


# -- pages ---------------------------------------------------------------------------------------------------------

def _task_intro(t: Table) -> str:
    from .registry import TASKS

    task = TASKS._items.get(t.task)
    if task is None or task.version != t.version:
        return ""
    ds = task.dataset
    data = f"Data: <code>{esc(ds.id)}</code>" + (f" @ <code>{esc(ds.revision)}</code>" if ds.revision else "")
    if ds.offline_default:
        data += f"; offline default: {esc(ds.offline_default)}"
    return (f"<p>{esc(task.description)}</p>" if task.description else "") + f"<p class='note'>{data}</p>"


def _task_page(t: Table, name: str, doc: str | None) -> str:
    head = ["rank", "method", "n", f"{t.primary} {_arrow(t, t.primary)} (95% CI)", "p vs best"]
    head += [f"{m} {_arrow(t, m)}" for m in t.order[1:]] + [f"{k} (mode)" for k in t.artifact_keys]
    head += [f"{t.primary} per seed"]
    body = []
    for r in t.rows:
        iv = r.stats.get(t.primary)
        cells = [f"<td data-v='{'' if r.rank is None else r.rank}'>{esc(rank_cell(r))}</td>",
                 f"<td>{esc(r.label + (' †' if r.unranked_kind else '') + verify_mark(r))}</td>",
                 f"<td data-v='{r.n}'>{r.n}</td>",
                 f"<td data-v='{'' if iv is None else repr(iv.mean)}'>{esc(fmt_interval(iv, r.n))}</td>",
                 f"<td data-v='{'' if r.p_vs_best is None else repr(r.p_vs_best)}'>{esc(p_cell(r))}</td>"]
        for m in t.order[1:]:
            im = r.stats.get(m)
            cells.append(f"<td data-v='{'' if im is None else repr(im.mean)}'>{esc(fmt_interval(im, r.n))}</td>")
        cells += [f"<td>{esc(artifact_mode(r.artifacts.get(k, [])))}</td>" for k in t.artifact_keys]
        seeds = ", ".join(f"s{s}: {v:.4f}" for s, v in sorted(r.values.get(t.primary, {}).items()))
        cells.append(f"<td class='seeds'>{esc(seeds)}</td>")
        body.append(("<tr class='top'>" if r.top else "<tr>") + "".join(cells) + "</tr>")
    if not t.rows:
        body.append(f"<tr><td>—</td><td>(no ranked records)</td><td>0</td>{'<td></td>' * (len(head) - 3)}</tr>")
    parts = [f"<p><a href='index.html'>all tasks</a>"
             + (f" · <a href='{esc(doc)}'>family docs</a>" if doc else "")
             + " · <a href='docs/statistics.html'>how rows are compared</a></p>",
             f"<h1>{esc(t.task)} (v{esc(t.version)})</h1>", _task_intro(t),
             f"<p class='note'>family <code>{esc(t.family)}</code>; primary metric <b>{esc(t.primary)}</b>. "
             f"Cells: mean [95% t confidence interval] over seeds. {esc(RANK_RULE)}; rows of the top group are "
             "shaded. p vs best: Holm-adjusted p-value against the row with the best mean. † reference/oracle, "
             "never ranked.</p>",
             f"<table class='leaderboard'><thead><tr>{_th(head)}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
    parts += [f"<p class='note'>{esc(n)}</p>" for n in table_notes(t)]
    if t.artifact_keys:
        parts.append(_artifact_table(t))
    if t.nonstandard:
        nh = ["method", "task config", "n"] + [f"{m} {_arrow(t, m)}" for m in t.order]
        rows = []
        for r in t.nonstandard:
            from .tables import _config_diff

            cells = [esc(r.label), esc(short_json(_config_diff(t.task, r.task_config), 80)), str(r.n)]
            cells += [esc(fmt_interval(r.stats.get(m), r.n)) for m in t.order]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("<h2>Non-standard protocol</h2><p class='note'>The task config differs from the task's default "
                     "protocol: never ranked, not comparable with the table above.</p>"
                     f"<table class='nonstandard'><thead><tr>{_th(nh)}</tr></thead><tbody>{''.join(rows)}"
                     "</tbody></table>")
    parts.append(f"<p><img src='{esc(name)}.png' alt='{esc(t.primary)}: mean, 95% CI and per-seed values'></p>")
    return _page(t.task, "".join(parts))


def _artifact_table(t: Table) -> str:
    seeds = sorted({s for r in t.rows for k in t.artifact_keys for s, _ in r.artifacts.get(k, [])})
    head = ["method", "artifact"] + [f"s{s}" for s in seeds]
    body = []
    for r in t.rows:
        for k in t.artifact_keys:
            vals = dict(r.artifacts.get(k, []))
            if not vals:
                continue
            cells = [esc(r.label), esc(k)] + [esc(short_json(vals[s], 30)) if s in vals else "" for s in seeds]
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ("<h2>Per-seed values of the table artifacts</h2>"
            f"<table class='artifacts'><thead><tr>{_th(head)}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _summary_html(tables: list[Table]) -> str:
    s = family_summary(tables)
    if s is None or len(s.tasks) < 2:
        return ""
    head = ["method", "kind", "mean rank", "ranked in", "top"] + [f"W/T/L vs {b}" for b in s.baselines]
    body = []
    for r in s.rows:
        mr = r.mean_rank
        cells = [f"<td>{esc(r.label)}</td>", f"<td>{esc(r.kind)}</td>",
                 f"<td data-v='{'' if mr is None else repr(mr)}'>{'—' if mr is None else f'{mr:.2f}'}</td>",
                 f"<td>{len(r.ranks)}/{r.tasks}</td>", f"<td data-v='{r.top}'>{r.top}</td>"]
        for b in s.baselines:
            w = r.wtl.get(b)
            cells.append(f"<td>{'—' if w is None else ('/'.join(map(str, w)) if sum(w) else 'n/c')}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<p class='note'>Across {len(s.tasks)} tasks: mean rank over the tasks a row is ranked in; top = tasks "
            "in the top group; W/T/L vs a baseline = tasks where the row is significantly better / not different / "
            "significantly worse (the table's Holm-corrected paired test).</p>"
            f"<table class='summary'><thead><tr>{_th(head)}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _top_group_html(t: Table) -> str:
    top = [r for r in t.rows if r.top]
    if not top:
        return "—"
    return "<br>".join(f"{esc(r.label)}: {esc(fmt_value(r.stats[t.primary].mean))}" for r in top)


def _render_docs(out_dir: Path, names: list[str]) -> list[Path]:
    """docs/<name>.md of the repo rendered to out_dir/docs/<name>.html, with the images they reference."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    src, dst = REPO_ROOT / "docs", out_dir / "docs"
    written = []
    for name in names:
        f = src / f"{name}.md"
        if not f.exists():
            continue
        text = f.read_text()
        body = md.render(text)
        body = re.sub(r'href="([A-Za-z0-9_.-]+)\.md(#[^"]*)?"',
                      lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"' if (src / f"{m.group(1)}.md").exists()
                      else m.group(0), body)
        page = _page(name, "<p><a href='../index.html'>leaderboard</a></p>" + body)
        atomic_write_text(dst / f"{name}.html", page)
        written.append(dst / f"{name}.html")
        for img in sorted(set(re.findall(r'src="([A-Za-z0-9_.-]+\.(?:png|svg|jpg))"', body))):
            if (src / img).exists():
                dst.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / img, dst / img)
                written.append(dst / img)
    return written


def build_site(results_dir: Path, out_dir: Path) -> list[Path]:
    return build_site_from(read_inputs(Path(results_dir), root=Path(results_dir).parent), out_dir)


def build_site_from(inp: Inputs, out_dir: Path) -> list[Path]:
    from .registry import discover

    discover()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(inp.ranked, inp.nonstandard, inp.verified, inp.differs)
    current = current_tables(tables)
    written: list[Path] = []
    by_family: dict[str, list[Table]] = defaultdict(list)
    for t in tables.values():
        by_family[t.family].append(t)
    sections = []
    for family in sorted(by_family):
        doc_md = family_doc(family)
        doc = doc_md[:-3] + ".html" if doc_md else None
        trs = []
        for t in by_family[family]:
            name = _slug(f"{t.task}-v{t.version}")
            _plot(out_dir / f"{name}.png", t)
            atomic_write_text(out_dir / f"{name}.html", _task_page(t, name, doc))
            written += [out_dir / f"{name}.html", out_dir / f"{name}.png"]
            n = max((r.n for r in t.rows), default=0)
            cur = "" if current.get(t.task) is t else " <span class='note'>(superseded)</span>"
            trs.append(f"<tr><td><a href='{esc(name)}.html'>{esc(t.task)}</a>{cur}</td><td>v{esc(t.version)}</td>"
                       f"<td>{_task_intro(t)}</td><td data-v='{n}'>{n}</td>"
                       f"<td>{esc(t.primary)} {_arrow(t, t.primary)}</td><td>{_top_group_html(t)}</td></tr>")
        head = _th(["task", "version", "description and data", "seeds", "primary", "top group (mean)"])
        sections.append(
            f"<h2>{esc(family)}</h2>"
            + (f"<p><a href='{esc(doc)}'>family docs</a></p>" if doc else "")
            + _summary_html([t for t in by_family[family] if current.get(t.task) is t and t.rows])
            + f"<table class='tasks'><thead><tr>{head}</tr></thead><tbody>{''.join(trs)}</tbody></table>")
    written += _render_docs(out_dir, sorted(set(FAMILY_DOCS.values())) + ["statistics"])
    extra = ""
    if inp.history:
        items = "".join(f"<li>{esc(line[2:])}</li>" for line in history_lines(inp.history) if line.startswith("- "))
        extra += f"<h2>History (not ranked)</h2><ul>{items}</ul>"
    if inp.rejected:
        items = "".join(f"<li><code>{esc(p)}</code>: {esc(why)}</li>" for p, why in sorted(inp.rejected))
        extra += f"<h2>Records rejected</h2><ul>{items}</ul>"
    index = _page("dcai-bench leaderboard",
                  "<h1>dcai-bench leaderboard</h1>"
                  f"<p class='note'>Per task, the whole top group (rows that no other row beats significantly; "
                  f"{esc(RANK_RULE[0].lower() + RANK_RULE[1:])}). "
                  "<a href='docs/statistics.html'>How rows are compared</a>.</p>"
                  + "".join(sections) + extra)
    atomic_write_text(out_dir / "index.html", index)
    return [out_dir / "index.html", *written]
