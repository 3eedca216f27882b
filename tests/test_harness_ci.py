import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"The tests \(this exact command is what CI runs\):\s*```bash\n(.+?)\n```", text, re.S)
    assert m, "README.md must show the test command in the 'The tests' block"
    return m.group(1).strip()


def test_ci_runs_the_readme_test_command_after_a_from_scratch_install():
    ci = (ROOT / ".ci/run").read_text().splitlines()
    cmd = _readme_test_command()
    assert cmd in ci, f".ci/run must call the README's test command: {cmd}"
    install = ci.index("bash .ci/install.sh")
    assert install < ci.index(cmd)


def test_suite_walltime_times_the_readme_test_command():
    """benchmarks/suite_walltime.py times the suite with the README's pytest-xdist options (its XDIST_ARGS)."""
    from conftest import benchmark_script

    args = " ".join(benchmark_script("suite_walltime").XDIST_ARGS)
    assert f"pytest {args} tests" in _readme_test_command()


def test_install_never_takes_an_unpinned_torch():
    script = (ROOT / ".ci/install.sh").read_text()
    assert '-c "$CONSTRAINTS"' in script
    assert "torch==2.13.0+cpu" in (ROOT / ".ci/constraints.txt").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject
