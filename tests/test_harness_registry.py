import pytest

from bench.api import register_method
from bench.errors import RegistryError
from bench.registry import METHODS, TASKS, Registry


def test_registering_twice_is_an_error():
    r = Registry("widget")
    r.add("alpha", 1)
    with pytest.raises(RegistryError, match="widget 'alpha' is already registered"):
        r.add("alpha", 2)


def test_unknown_name_suggests_closest():
    r = Registry("task")
    for n in ("adc-detect", "crowd-cheat", "toy-digits"):
        r.add(n, n)
    with pytest.raises(RegistryError, match="did you mean 'toy-digits'"):
        r.get("toy-digit")


def test_glob_match_and_no_match():
    r = Registry("task")
    for n in ("adc-a", "adc-b", "toy"):
        r.add(n, n)
    assert r.match("adc-*") == ["adc-a", "adc-b"]
    assert r.match("toy") == ["toy"]
    with pytest.raises(RegistryError, match="no task matches"):
        r.match("zzz-*")


def test_method_registration_line_rejects_duplicates():
    assert "knn" in METHODS
    with pytest.raises(RegistryError, match="already registered"):
        register_method("knn", family="toy.classification")(lambda d, c, x: None)


def test_discovery_found_the_toy_family():
    assert "toy-digits" in TASKS
    assert {"knn", "logistic_regression", "majority"} <= set(METHODS)
    assert METHODS.get("majority").kind == "null"


def test_cli_list_shows_family_tasks_and_methods(capsys):
    from bench.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "toy.classification" in out and "task   toy-digits" in out and "method majority [null]" in out


def test_a_cell_imports_only_its_own_family():
    """With the discovery index (written by this session's full discovery), planning the toy task in a fresh process
    imports the toy family's modules (all three methods are planned) and no other family's."""
    import subprocess
    import sys
    from pathlib import Path

    from bench import registry

    assert registry._read_index() is not None, "the session's full discovery (conftest) writes the discovery index"
    code = ("import sys; from bench.runner import plan; "
            "cells = plan(tasks=['toy-digits'], seeds=1); assert len(cells) == 3, cells; "
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith(('tasks.', 'baselines.'))}))")
    root = Path(__file__).resolve().parent.parent
    p = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip().splitlines()[-1] == "['toy']"


def test_the_discovery_index_goes_stale_when_a_module_changes(tmp_path, monkeypatch):
    import os
    import sys

    from bench import registry

    pkg = tmp_path / "dx_probe_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_PACKAGES", ("dx_probe_pkg",))
    fp = registry._fingerprint()
    assert registry._fingerprint() == fp
    (pkg / "a.py").write_text("x = 22\n")  # size changes
    fp2 = registry._fingerprint()
    assert fp2 != fp
    os.utime(pkg / "a.py", ns=(1, 1))  # same size, another mtime
    assert registry._fingerprint() != fp2
    fp3 = registry._fingerprint()
    (pkg / "sub").mkdir()
    (pkg / "sub" / "b.py").write_text("")  # a new module
    assert registry._fingerprint() != fp3
    sys.modules.pop("dx_probe_pkg", None)
