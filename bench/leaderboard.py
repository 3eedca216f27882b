"""Leaderboard: rebuilt from result records only, deterministically (same records -> byte-identical file).

One table per (task, task version); the tables, their paired-test ranks and the family summaries are built and
rendered by bench/tables.py (statistics in bench/stats.py, rules in docs/statistics.md). Smoke and failed records
never rank; reference and oracle methods are shown but not ranked.

Input comes from bench.validate.intake only (the one validation path, shared with submit, validate, verify and the
site): records that fail a check are listed under "Records rejected" with their reason, records of a non-default
task config get a separate "non-standard protocol" table, records of superseded task versions or schema 1 are counted
as history, and rows re-run by `dcai-bench verify` are marked (bench.verify.verified_rows). Every string from a record
is escaped (bench.escape) before it reaches the markdown.
"""
from __future__ import annotations

from pathlib import Path

from .records import Record, RecordError, atomic_write_text
from .tables import (HEADER, Inputs, Row, Table, build_tables, inputs_from_intake, read_inputs, rejected_pairs,
                     render_leaderboard)

__all__ = ["HEADER", "Row", "Table", "build_tables", "render", "render_intake", "rebuild"]


def render(records: list[Record], problems: list[RecordError], root: Path | None = None) -> str:
    """The leaderboard of these records (every record ranks per task and version) and rejected files."""
    return render_leaderboard(Inputs(list(records), rejected=rejected_pairs(problems, root)))


def render_intake(intake: object, results_dir: Path) -> str:
    """The leaderboard of an Intake (bench.validate) of results_dir, e.g. one staged in memory by `submit`."""
    return render_leaderboard(inputs_from_intake(intake, Path(results_dir), root=Path(results_dir).parent))


def rebuild(results_dir: Path, out: Path, check: bool = False) -> tuple[bool, str]:
    """Render the leaderboard for results_dir. check=True: compare with `out` instead of writing.
    Returns (up_to_date_or_written, text)."""
    text = render_leaderboard(read_inputs(results_dir, root=Path(results_dir).parent))
    if check:
        return out.exists() and out.read_text() == text, text
    if not out.exists() or out.read_text() != text:
        atomic_write_text(out, text)
    return True, text
