import json

import pytest

from bench.config import StrictConfig, build_config, config_hash, parse_overrides
from bench.errors import ConfigError
from bench.runner import Cell, plan, run_cell


class Cfg(StrictConfig):
    lr: float = 0.1
    k: int = 5
    name: str = "x"


def test_unknown_key_is_rejected_naming_the_key():
    with pytest.raises(ConfigError, match=r"method config of 'm': key 'lrr': unknown key"):
        build_config(Cfg, {"lrr": 0.2}, "method config of 'm'")


def test_wrong_type_is_rejected_naming_the_key():
    with pytest.raises(ConfigError, match=r"key 'k': Input should be a valid integer"):
        build_config(Cfg, {"k": "five"}, "cfg")
    with pytest.raises(ConfigError, match=r"key 'k'"):
        build_config(Cfg, {"k": 2.5}, "cfg")
    assert build_config(Cfg, {"lr": 1}, "cfg").lr == 1.0  # an int is a valid float


def test_a_tuple_field_accepts_the_array_a_record_stores():
    """Configs are JSON data: a stored record (or a --set value) holds a list where the config declares a tuple. The
    federated v2 records (reward_grid) were refused as 'Input should be a valid tuple' before this."""

    class Grid(StrictConfig):
        grid: tuple[float, ...] = (0.0, 0.5)

    stored = json.loads(json.dumps(build_config(Grid, {}, "cfg").model_dump(mode="json")))
    assert stored == {"grid": [0.0, 0.5]}
    assert build_config(Grid, stored, "cfg").grid == (0.0, 0.5)
    assert build_config(Grid, {"grid": (1.0,)}, "cfg").grid == (1.0,)
    with pytest.raises(ConfigError, match=r"key 'grid\.0': Input should be a valid number"):
        build_config(Grid, {"grid": ["a"]}, "cfg")  # names the element: key 'grid.0'
    with pytest.raises(ConfigError, match=r"key 'grid'"):
        build_config(Grid, {"grid": "0.5"}, "cfg")


def test_not_a_mapping():
    with pytest.raises(ConfigError, match="expected a mapping"):
        build_config(Cfg, [1, 2], "cfg")  # type: ignore[arg-type]


def test_overrides_parse_json_values_and_reject_bad_scope():
    ov = parse_overrides(["method.lr=0.5", "task.name=abc", "method.flags=[1,2]"])
    assert ov == {"task": {"name": "abc"}, "method": {"lr": 0.5, "flags": [1, 2]}}
    with pytest.raises(ConfigError, match="scope must be 'task' or 'method'"):
        parse_overrides(["model.lr=1"])
    with pytest.raises(ConfigError, match="expected SCOPE.KEY=VALUE"):
        parse_overrides(["method.lr"])


def test_config_hash_ignores_seed_index_only():
    a = {"task": "t", "seed_index": 0, "method_config": {"k": 1}}
    assert config_hash(a) == config_hash({**a, "seed_index": 7})
    assert config_hash(a) != config_hash({**a, "method_config": {"k": 2}})


def test_bad_override_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="key 'kk': unknown key"):
        plan(tasks=["toy-digits"], methods=["knn"], method_overrides={"kk": 3})
    assert not any(tmp_path.iterdir())


def test_resolved_config_is_stored_with_the_result(tmp_path):
    cell = Cell("toy-digits", "knn", 0, smoke=True, method_overrides=(("k", 3),))
    status, path = run_cell(cell, tmp_path)
    rec = json.loads(path.read_text())
    assert status == "smoke"
    assert rec["config"]["method_config"] == {"k": 3}
    assert rec["config"]["task_config"]["n_train_max"] == 200  # smoke sizes are part of the resolved config
    assert rec["config_hash"] == config_hash(rec["config"])
