"""Static leaderboard site: `dcai-bench leaderboard --html DIR` writes index.html and one page per task (sortable
tables, per-seed values of the primary metric, a matplotlib plot of mean ± std with per-seed points). Built only from
the records, deterministically: the same records give byte-identical files."""
from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path

from .api import UNRANKED_KINDS
from .leaderboard import _fmt, build_tables
from .records import atomic_write_text, scan

SORT_JS = """<script>
function sortTable(th){const t=th.closest('table'),i=[...th.parentNode.children].indexOf(th),
asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';const rows=[...t.tBodies[0].rows];
const key=r=>{const v=parseFloat(r.cells[i].dataset.v);return isNaN(v)?r.cells[i].textContent:v};
rows.sort((a,b)=>{const x=key(a),y=key(b);return (x>y?1:x<y?-1:0)*(asc?1:-1)});rows.forEach(r=>t.tBodies[0].appendChild(r));}
</script>"""
STYLE = ("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
         "padding:4px 8px}th{cursor:pointer;background:#f4f4f4}img{max-width:720px}</style>")


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)


def _plot(path: Path, rows, per_seed: dict, metric: str, arrow: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.45 * max(3, len(rows)) + 1))
    labels = [r.label for r in rows]
    for y, r in enumerate(rows):
        m, s = r.stats[metric]
        if m is None:
            continue
        ax.errorbar(m, y, xerr=s or 0.0, fmt="o", color="black" if r.kind not in UNRANKED_KINDS else "grey", capsize=3)
        vals = per_seed.get(r.label, [])
        ax.scatter(vals, [y] * len(vals), s=12, alpha=0.5)
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} {arrow}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


def build_site(results_dir: Path, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs, problems = scan(results_dir)
    records = [r for _, r in pairs]
    tables = build_tables(records)
    seeds: dict = defaultdict(lambda: defaultdict(list))
    for r in sorted(records, key=lambda r: (r.task, r.method, r.config_hash, r.seed_index)):
        if r.rankable:
            seeds[(r.family, r.task, r.task_version)][(r.method, r.config_hash)].append(r.metrics[r.primary_metric].value)
    written, index_rows = [], []
    for (family, task, version), (rows, excluded, order, directions, primary) in tables.items():
        name = _slug(f"{task}-v{version}")
        arrows = {m: "↑" if directions.get(m, "max") == "max" else "↓" for m in order}
        label_seeds = {r.label: [v for v in seeds[(family, task, version)].get((r.method, r.config_hash), [])
                                 if v is not None] for r in rows}
        _plot(out_dir / f"{name}.png", rows, label_seeds, primary, arrows[primary])
        head = "".join(f"<th onclick='sortTable(this)'>{html.escape(h)}</th>" for h in
                       ["rank", "method", "n"] + [f"{m} {arrows[m]}" for m in order] + [f"{primary} per seed"])
        body = []
        for r in rows:
            rank = "—" if r.rank is None else f"{r.rank}{'=' if r.tied else ''}"
            cells = [f"<td data-v='{r.rank if r.rank is not None else ''}'>{rank}</td>",
                     f"<td>{html.escape(r.label + (' †' if r.kind in UNRANKED_KINDS else ''))}</td>",
                     f"<td data-v='{r.n}'>{r.n}</td>"]
            for m in order:
                mean, std = r.stats[m]
                cells.append(f"<td data-v='{'' if mean is None else repr(mean)}'>{html.escape(_fmt(mean, std, r.n))}</td>")
            cells.append("<td>" + ", ".join(f"{v:.4f}" for v in label_seeds[r.label]) + "</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        note = ", ".join(f"{v} {k}" for k, v in excluded.items() if v)
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(task)}</title>{STYLE}{SORT_JS}"
                f"</head><body><p><a href='index.html'>all tasks</a></p><h1>{html.escape(task)} (v{version})</h1>"
                f"<p>family <code>{html.escape(family)}</code>; primary metric <b>{html.escape(primary)}</b>; "
                f"mean ± sample std over seeds; † = reference/oracle, not ranked"
                + (f"; not ranked: {html.escape(note)}" if note else "") + "</p>"
                f"<table class='leaderboard'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
                f"<p><img src='{name}.png' alt='{html.escape(primary)} per method'></p></body></html>\n")
        atomic_write_text(out_dir / f"{name}.html", page)
        written += [out_dir / f"{name}.html", out_dir / f"{name}.png"]
        best = next((r for r in rows if r.rank == 1), None)
        index_rows.append(f"<tr><td>{html.escape(family)}</td><td><a href='{name}.html'>{html.escape(task)}</a></td>"
                          f"<td>v{html.escape(version)}</td><td>{html.escape(best.label if best else '—')}</td></tr>")
    rej = "".join(f"<li>{html.escape(str(p))}</li>" for p in sorted(map(str, problems)))
    index = (f"<!doctype html><html><head><meta charset='utf-8'><title>dcai-bench leaderboard</title>{STYLE}"
             f"{SORT_JS}</head><body><h1>dcai-bench leaderboard</h1><table class='tasks'><thead><tr>"
             "<th onclick='sortTable(this)'>family</th><th onclick='sortTable(this)'>task</th><th>version</th>"
             f"<th>rank 1</th></tr></thead><tbody>{''.join(index_rows)}</tbody></table>"
             + (f"<h2>Records rejected</h2><ul>{rej}</ul>" if rej else "") + "</body></html>\n")
    atomic_write_text(out_dir / "index.html", index)
    return [out_dir / "index.html", *written]
