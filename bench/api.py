"""The contract between the harness, tasks and methods.

A *task family* names a protocol (what a method receives and must return), e.g. "label_noise.detection".
A *task* is a declarative `TaskSpec` (dataset id + pinned revision, metrics with direction, config, seeds) plus three
small hooks: `load` (build the data for one seed), `evaluate` (metrics from the method's output) and, optionally,
`execute` (for interactive protocols such as active sampling, where the harness-owned loop calls the method).
A *method* is a function `fn(data, cfg, ctx) -> output` registered with `@register_method`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from .config import EmptyConfig, StrictConfig
from .errors import RegistryError
from .registry import FAMILIES, METHODS, TASKS

Direction = Literal["max", "min"]
MethodKind = Literal["method", "baseline", "null", "reference", "oracle"]
# reference / oracle rows are shown on the leaderboard but never ranked (they see what methods may not).
UNRANKED_KINDS = ("reference", "oracle")


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Direction = "max"
    description: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise ValueError(f"metric '{self.name}': direction must be 'max' or 'min', got {self.direction!r}")


@dataclass(frozen=True)
class DatasetRef:
    """Where the data comes from. `id`/`revision` are the real source (hub id pinned by revision) for full runs;
    `offline_default` describes the embedded default that runs without network."""

    id: str
    revision: str | None = None
    offline_default: str = ""
    license: str = ""


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    output: str = ""  # what a method of this family returns


def register_family(name: str, description: str, output: str = "") -> Family:
    return FAMILIES.add(name, Family(name, description, output))


@dataclass
class Context:
    """What the harness hands to task hooks and methods for one cell."""

    task: str
    method: str
    seed_index: int
    seed: int  # cell seed: (task, method, seed index)
    data_seed: int  # (task, seed index): identical data across methods
    smoke: bool = False
    device: str = "cpu"
    cache_dir: Path = field(default_factory=lambda: Path(".cache"))
    _logger: Callable[[dict[str, float], int | None], None] | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def rng(self) -> np.random.Generator:
        """A fresh generator from the cell seed (methods' randomness)."""
        return np.random.default_rng(self.seed)

    @property
    def data_rng(self) -> np.random.Generator:
        """A fresh generator from the data seed (data generation, splits, noise)."""
        return np.random.default_rng(self.data_seed)

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Log intermediate values (training curves); go to wandb when enabled."""
        if self._logger is not None:
            self._logger(metrics, step)

    def add_artifact(self, name: str, value: Any) -> None:
        """Small JSON-able results kept in the record's `artifacts` (curves for plots, per-round values)."""
        self.artifacts[name] = value


@dataclass(frozen=True)
class MethodSpec:
    name: str
    family: tuple[str, ...]
    fn: Callable[[Any, Any, Context], Any]
    config_cls: type[StrictConfig] = EmptyConfig
    kind: MethodKind = "method"
    description: str = ""
    paper: str = ""

    def applies_to(self, family: str) -> bool:
        return family in self.family


def register_method(
    name: str,
    family: str | tuple[str, ...] | list[str],
    config: type[StrictConfig] = EmptyConfig,
    kind: MethodKind = "method",
    description: str = "",
    paper: str = "",
) -> Callable[[Callable], Callable]:
    """Decorator: the one registration line of a method file."""
    fams = (family,) if isinstance(family, str) else tuple(family)
    if kind not in ("method", "baseline", "null", "reference", "oracle"):
        raise RegistryError(f"method '{name}': unknown kind {kind!r}")

    def deco(fn: Callable) -> Callable:
        desc = description or (fn.__doc__ or "").strip().split("\n")[0]
        METHODS.add(name, MethodSpec(name, fams, fn, config, kind, desc, paper))
        return fn

    return deco


class Task:
    """Base class of a task. Subclasses set the class attributes and implement `load` and `evaluate`.

    One class can be registered several times with different `name`/`params` (variants, e.g. noise rates).
    """

    name: str = ""
    family: str = ""
    version: str = "1"
    description: str = ""
    dataset: DatasetRef = DatasetRef("unspecified")
    metrics: tuple[Metric, ...] = ()
    primary_metric: str = ""
    config_cls: type[StrictConfig] = EmptyConfig
    default_seeds: int = 3
    suites: tuple[str, ...] = ("smoke", "full")

    def __init__(self, name: str | None = None, **params: Any):
        if name:
            self.name = name
        self.params = params  # defaults for config_cls, overridable per run

    # -- hooks -------------------------------------------------------------------------------------------------
    def load(self, cfg: Any, ctx: Context) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, data: Any, output: Any, cfg: Any, ctx: Context) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def execute(self, method: MethodSpec, data: Any, method_cfg: Any, cfg: Any, ctx: Context) -> Any:
        """Run a method on the data. Interactive protocols (rounds, budgets) override this."""
        return method.fn(data, method_cfg, ctx)

    def fingerprint(self, data: Any, cfg: Any) -> dict[str, Any]:
        from .fingerprint import content_hash

        return {"id": self.dataset.id, "revision": self.dataset.revision, "content_hash": content_hash(data)}

    def smoke_params(self) -> dict[str, Any]:
        """Config overrides for the smoke suite (tiny sizes). Default: none."""
        return {}

    # -- helpers -----------------------------------------------------------------------------------------------
    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def check_metrics(self, values: dict[str, Any]) -> dict[str, float | None]:
        """Declared metrics only, all present, as floats (non-finite -> None)."""
        declared = {m.name for m in self.metrics}
        missing = declared - set(values)
        extra = set(values) - declared
        if missing or extra:
            raise ValueError(f"task '{self.name}' evaluate(): missing metrics {sorted(missing)}, undeclared {sorted(extra)}")
        out: dict[str, float | None] = {}
        for k, v in values.items():
            f = float(v) if v is not None else None
            out[k] = f if f is not None and math.isfinite(f) else None
        return out


def register_task(task: Task) -> Task:
    if not task.name or not task.family:
        raise RegistryError(f"task {type(task).__name__}: name and family are required")
    if not task.metrics:
        raise RegistryError(f"task '{task.name}': declare at least one metric")
    names = [m.name for m in task.metrics]
    if len(set(names)) != len(names):
        raise RegistryError(f"task '{task.name}': duplicate metric names {names}")
    if task.primary_metric not in names:
        raise RegistryError(f"task '{task.name}': primary_metric '{task.primary_metric}' is not among {names}")
    return TASKS.add(task.name, task)


def methods_for(task: Task) -> list[MethodSpec]:
    return [m for _, m in METHODS.items() if m.applies_to(task.family)]


def dataclass_to_dict(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
