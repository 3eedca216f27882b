"""Leaderboard: rebuilt from result records only, deterministically (same records -> byte-identical file).

One table per (task, task version); the tables, their paired-test ranks and the family summaries are built and
rendered by bench/tables.py (statistics in bench/stats.py, rules in docs/statistics.md). Smoke and failed records
never rank; reference and oracle methods are shown but not ranked.
"""
from __future__ import annotations

from pathlib import Path

from .records import Record, RecordError, atomic_write_text
from .tables import HEADER, Inputs, Row, Table, build_tables, read_inputs, rejected_pairs, render_leaderboard

__all__ = ["HEADER", "Row", "Table", "build_tables", "render", "rebuild"]


def render(records: list[Record], problems: list[RecordError], root: Path | None = None) -> str:
    """The leaderboard of these records (every record ranks per task and version) and rejected files."""
    return render_leaderboard(Inputs(list(records), rejected=rejected_pairs(problems, root)))


def rebuild(results_dir: Path, out: Path, check: bool = False) -> tuple[bool, str]:
    """Render the leaderboard for results_dir. check=True: compare with `out` instead of writing.
    Returns (up_to_date_or_written, text)."""
    text = render_leaderboard(read_inputs(results_dir, root=Path(results_dir).parent))
    if check:
        return out.exists() and out.read_text() == text, text
    if not out.exists() or out.read_text() != text:
        atomic_write_text(out, text)
    return True, text
