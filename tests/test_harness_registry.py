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
