import subprocess
import sys
from pathlib import Path

from bench.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_run_then_leaderboard_end_to_end(tmp_path, capsys):
    res, lb = tmp_path / "results", tmp_path / "lb.md"
    args = ["--results-dir", str(res), "--leaderboard", str(lb)]
    assert main(["run", "--task", "toy-*", "--method", "knn", "--method", "majority", "--seeds", "3", "--quiet",
                 "--leaderboard-update", *args]) == 0
    assert "ok=6" in capsys.readouterr().out
    assert main(["leaderboard", "--check", *args]) == 0
    assert main(["run", "--task", "toy-digits", "--method", "knn", "--seeds", "3", "--quiet", *args]) == 0
    assert "skipped=3" in capsys.readouterr().out
    text = lb.read_text()
    assert "| 1 | knn | 3 |" in text and "| 2 | majority | 3 |" in text  # paired tests need >= 3 seeds


def test_user_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["run", "--task", "toy-digit", "--results-dir", str(tmp_path)]) == 2
    assert "did you mean 'toy-digits'" in capsys.readouterr().err
    assert main(["run", "--task", "toy-digits", "--set", "method.k=x", "--method", "knn",
                 "--results-dir", str(tmp_path)]) == 2
    assert "key 'k'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_console_entry_point_runs_as_module():
    p = subprocess.run([sys.executable, "-m", "bench", "list", "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert '"toy.classification"' in p.stdout


def test_committed_leaderboard_is_up_to_date():
    """leaderboard.md is generated from results/ and committed: it must match what results/ gives."""
    from bench.leaderboard import rebuild

    ok, text = rebuild(ROOT / "results", ROOT / "leaderboard.md", check=True)
    assert ok, "leaderboard.md is stale: run `dcai-bench leaderboard` and commit it"
