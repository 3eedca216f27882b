"""Typed configs. Every config is a pydantic model that rejects unknown keys and wrong types.

Errors are re-raised as ConfigError naming the config and the key, e.g.
    method config of 'gce': key 'q': Input should be a valid number
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError


class StrictConfig(BaseModel):
    """Base class for task, method and run configs: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)


class EmptyConfig(StrictConfig):
    pass


C = TypeVar("C", bound=BaseModel)


def format_validation_error(err: ValidationError, what: str) -> str:
    parts = []
    for e in err.errors():
        key = ".".join(str(x) for x in e.get("loc", ())) or "<root>"
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"key '{key}': {msg}")
    return f"{what}: " + "; ".join(parts)


def build_config(cls: type[C], values: dict[str, Any] | None, what: str) -> C:
    if values is not None and not isinstance(values, dict):
        raise ConfigError(f"{what}: expected a mapping of keys to values, got {type(values).__name__}")
    try:
        # Configs are JSON data (CLI values, stored records): validate them as JSON, where strict mode accepts an array
        # for a tuple field (python mode would refuse the list a record stores). Values that are not JSON (a tuple
        # default holding a NaN, say) are validated as python objects.
        try:
            text = json.dumps(values or {}, allow_nan=False, default=_default)
        except (TypeError, ValueError):
            return cls.model_validate(values or {})
        return cls.model_validate_json(text)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, what)) from None


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace variance, NaN refused."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_default)


def _default(o: Any) -> Any:
    if isinstance(o, BaseModel):
        return o.model_dump(mode="json")
    if hasattr(o, "item") and callable(o.item):  # numpy scalars
        return o.item()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def config_hash(resolved: dict[str, Any]) -> str:
    """Hash of a resolved config *without* its seed index: all seeds of one setting share it (leaderboard rows group
    on it; the record path adds the seed index)."""
    setting = {k: v for k, v in resolved.items() if k != "seed_index"}
    return hashlib.sha256(canonical_json(setting).encode()).hexdigest()


def parse_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """Parse `--set task.key=value` / `--set method.key=value` into {"task": {...}, "method": {...}}.

    Values are parsed as JSON when possible (numbers, booleans, lists), otherwise kept as strings.
    """
    out: dict[str, dict[str, Any]] = {"task": {}, "method": {}}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"override '{item}': expected SCOPE.KEY=VALUE, e.g. method.lr=0.1")
        lhs, raw = item.split("=", 1)
        scope, _, key = lhs.partition(".")
        if scope not in out or not key:
            raise ConfigError(f"override '{item}': scope must be 'task' or 'method', e.g. task.noise_rate=0.4")
        try:
            val = json.loads(raw)
        except json.JSONDecodeError:
            val = raw
        out[scope][key] = val
    return out
