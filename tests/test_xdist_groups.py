"""The suite's xdist work units (tests/xdist_groups.py): a conformance family, the Ray tests and the SmolLM2 tests
each run in one worker process, under the README's `-n auto --dist loadgroup` and the installed pytest."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xdist_groups import HEAVY_FIRST, xdist_group_of


def test_groups_from_node_ids():
    c = "tests/test_conformance.py::test_method_beats_the_null_on_the_easy_task"
    assert xdist_group_of(f"{c}[flat@unlearning]") == "conformance-unlearning"
    assert xdist_group_of(f"{c}[ds2@sft.sample_selection]") == "conformance-sft"
    assert xdist_group_of(f"{c}[rho1@sft.token_selection]") == "conformance-sft"
    assert xdist_group_of("tests/test_conformance.py::test_family_contract[preference]") == "conformance-preference"
    assert xdist_group_of("tests/test_conformance.py::test_the_registry_is_not_empty") == "test_conformance.py"
    assert xdist_group_of("tests/test_federated.py::test_x") == xdist_group_of("tests/test_scaleout.py::t") == "ray"
    assert xdist_group_of("tests/test_sft_paper.py::t") == xdist_group_of("tests/test_pretrained_bases.py::t")
    assert xdist_group_of("tests/test_stats.py::test_a[1-2]") == "test_stats.py"
    assert len(set(HEAVY_FIRST)) == len(HEAVY_FIRST)


def test_a_group_runs_in_one_worker_under_xdist(tmp_path):
    pytest.importorskip("xdist")
    here = Path(__file__).resolve().parent
    (tmp_path / "conftest.py").write_text("from xdist_groups import pytest_xdist_make_scheduler  # noqa: F401\n")
    body = textwrap.dedent("""
        import json, os, time
        import pytest

        @pytest.mark.parametrize("m", [f"m{i}@fam{i % 2}" for i in range(8)])
        def test_cell(m):
            time.sleep(0.2)  # long enough that both workers take work
            with open(os.environ["OUT"], "a") as f:
                f.write(json.dumps([os.environ["PYTEST_XDIST_WORKER"], __file__.rsplit("/", 1)[-1],
                                    m.split("@")[1]]) + "\\n")
        """)
    (tmp_path / "test_conformance.py").write_text(body)
    (tmp_path / "test_other.py").write_text(body)
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "OUT": str(out), "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-q",
                        "-p", "no:cacheprovider", "-o", "addopts=", str(tmp_path)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 16
    units: dict[str, set[str]] = {}
    for worker, fname, fam in rows:  # units: each conformance family, and the other file as a whole
        units.setdefault(fam if fname == "test_conformance.py" else fname, set()).add(worker)
    assert set(units) == {"fam0", "fam1", "test_other.py"}
    assert all(len(w) == 1 for w in units.values()), f"a work unit was split across workers: {units}"
    assert len(set().union(*units.values())) == 2, f"one worker ran everything (nothing was distributed): {units}"
