"""Family contracts, privileges, metric ranges, own dataset declarations and honest provenance (issue #16 / #15)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from bench.api import PROPORTION, DatasetRef, Metric, Task, register_method, register_task
from bench.contract import Contract, ContractError, Privilege, register_contract, CONTRACTS
from bench.errors import ConfigError, RegistryError
from bench.registry import METHODS, TASKS
from bench.runner import Cell, run_cell


def test_toy_method_never_sees_test_labels(tmp_path):
    seen = {}

    def spy(data, cfg, ctx):
        seen["fields"] = set(vars(data))
        return np.zeros(len(data.X_test), dtype=int)

    register_method("spy_toy", "toy.classification")(spy)
    try:
        status, _ = run_cell(Cell("toy-digits", "spy_toy", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("spy_toy")
    assert status == "smoke"
    assert seen["fields"] == {"X_train", "y_train", "X_test", "n_classes"}


@pytest.mark.parametrize("bad, msg", [
    (lambda d: np.zeros(3, dtype=int), "one label per test example"),
    (lambda d: np.zeros(len(d.X_test)), "integer class labels"),
    (lambda d: np.full(len(d.X_test), 11), r"lie in \[0, 10\)"),
    (lambda d: np.zeros((len(d.X_test), 2), dtype=int), "1-D array"),
])
def test_wrong_output_is_named_by_the_contract(tmp_path, bad, msg):
    register_method("bad_toy", "toy.classification")(lambda d, c, x: bad(d))
    try:
        status, path = run_cell(Cell("toy-digits", "bad_toy", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("bad_toy")
    import json

    body = json.loads(path.read_text())
    assert status == "failed" and "ContractError" in body["error"]
    assert __import__("re").search(msg, body["error"])


class _T(Task):
    family = "toy.classification"
    dataset = DatasetRef("test: ranged")
    metrics = (Metric("acc", "max", range=PROPORTION),)
    primary_metric = "acc"

    def load(self, cfg, ctx):
        return None

    def view(self, data, privileges, ctx):
        return None

    def check_output(self, output, data, ctx):
        return output

    def evaluate(self, data, output, cfg, ctx):
        return {"acc": output}


def test_a_metric_outside_its_declared_range_fails_the_cell(tmp_path):
    register_task(_T("ranged-task"))
    register_method("returns_1_5", "toy.classification")(lambda d, c, x: 1.5)
    try:
        status, path = run_cell(Cell("ranged-task", "returns_1_5", 0), tmp_path)
    finally:
        METHODS.remove("returns_1_5")
        TASKS.remove("ranged-task")
    assert status == "failed" and "above the metric's upper bound 1.0" in path.read_text()


def test_metric_must_declare_a_range_and_a_task_its_own_dataset():
    class NoRange(_T):
        dataset = DatasetRef("x")
        metrics = (Metric("acc", "max"),)

    with pytest.raises(RegistryError, match="declares no range"):
        register_task(NoRange("no-range"))
    with pytest.raises(ValueError, match="lower bound 1 exceeds"):
        Metric("m", range=(1, 0))

    from tasks.toy.digits import DigitsClassification

    class Wine(DigitsClassification):  # a new task in another module that forgot its DatasetRef
        pass

    with pytest.raises(RegistryError, match="declare its own `dataset"):
        register_task(Wine("wine"))
    assert "wine" not in TASKS


def test_privileges_are_granted_by_declaration_only(tmp_path):
    from bench.api import register_family

    register_family("test.priv", "privilege test family")
    granted = {}

    class PT(_T):
        family = "test.priv"
        dataset = DatasetRef("test: priv")

        def view(self, data, privileges, ctx):
            granted[ctx.method] = set(privileges)
            return {"secret": 1} if "truth" in privileges else {}

    register_contract(Contract("test.priv", dict, float, privileges=(
        Privilege("extra", "more public data"), Privilege("truth", "the hidden answer", ranked=False))))
    register_task(PT("priv-task"))
    register_method("plain", "test.priv")(lambda d, c, x: 0.5)
    register_method("with_extra", "test.priv", privileges={"extra"})(lambda d, c, x: 0.5)
    register_method("peeker", "test.priv", privileges={"truth"})(lambda d, c, x: 0.5)
    register_method("peeker_ref", "test.priv", privileges={"truth"}, kind="oracle")(lambda d, c, x: 0.5)
    register_method("unknown_priv", "test.priv", privileges={"nope"})(lambda d, c, x: 0.5)
    try:
        run_cell(Cell("priv-task", "plain", 0), tmp_path)
        run_cell(Cell("priv-task", "with_extra", 0), tmp_path)
        run_cell(Cell("priv-task", "peeker_ref", 0), tmp_path)
        assert granted == {"plain": set(), "with_extra": {"extra"}, "peeker_ref": {"truth"}}
        with pytest.raises(ConfigError, match="reveals hidden truth: register it with kind='reference'"):
            run_cell(Cell("priv-task", "peeker", 0), tmp_path)
        with pytest.raises(ConfigError, match="offers no privilege 'nope'"):
            run_cell(Cell("priv-task", "unknown_priv", 0), tmp_path)
    finally:
        for m in ("plain", "with_extra", "peeker", "peeker_ref", "unknown_priv"):
            METHODS.remove(m)
        TASKS.remove("priv-task")
        CONTRACTS.remove("test.priv")
        from bench.registry import FAMILIES

        FAMILIES.remove("test.priv")


def test_method_names_are_matched_whole():
    with pytest.raises(RegistryError, match="method name"):
        register_method("knn\n", "toy.classification")
    with pytest.raises(RegistryError, match="method name"):
        register_method("x" * 65, "toy.classification")


def test_contract_check_output_names_the_type():
    from tasks.toy.contract import CONTRACT

    with pytest.raises(ContractError, match="must be integer class labels"):
        CONTRACT.check_output(["a", "b"], n=2)


def test_untracked_code_file_makes_the_tree_dirty(tmp_path):
    """A record produced by a never-committed method file must not claim a clean tree."""
    from bench import provenance

    repo = tmp_path / "repo"
    (repo / "baselines").mkdir(parents=True)
    (repo / "results").mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init")
    old_root = provenance.REPO_ROOT
    try:
        provenance.REPO_ROOT = repo
        provenance.git_state.cache_clear()
        assert provenance.git_state()["git_dirty"] is False
        (repo / "results" / "r.json").write_text("{}")  # outputs never make the code dirty
        provenance.git_state.cache_clear()
        assert provenance.git_state()["git_dirty"] is False
        (repo / "baselines" / "new_method.py").write_text("x = 1\n")
        provenance.git_state.cache_clear()
        assert provenance.git_state()["git_dirty"] is True
    finally:
        provenance.REPO_ROOT = old_root
        provenance.git_state.cache_clear()


def test_source_hashes_tell_apart_two_versions_of_a_method(tmp_path):
    from bench.provenance import source_hashes

    f = tmp_path / "pkg" / "m.py"
    f.parent.mkdir()
    f.write_text("a = 1\n")
    h1 = source_hashes(str(f), None)
    f.write_text("a = 2\n")
    h2 = source_hashes(str(f), None)
    assert h1["method_sha256"] != h2["method_sha256"] and h1["support_sha256"] != h2["support_sha256"]
