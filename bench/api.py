"""The contract between the harness, tasks and methods.

A *task family* names a protocol (what a method receives and must return), e.g. "label_noise.detection".
A *task* is a declarative `TaskSpec` (dataset id + pinned revision, metrics with direction, config, seeds) plus three
small hooks: `load` (build the data for one seed), `evaluate` (metrics from the method's output) and, optionally,
`execute` (for interactive protocols such as active sampling, where the harness-owned loop calls the method).
A *method* is a function `fn(data, cfg, ctx) -> output` registered with `@register_method`.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import re
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


Bounds = tuple[float | None, float | None]
PROPORTION: Bounds = (0.0, 1.0)
NONNEGATIVE: Bounds = (0.0, None)
NONPOSITIVE: Bounds = (None, 0.0)
UNBOUNDED: Bounds = (None, None)


@dataclass(frozen=True)
class Metric:
    """A task metric: its direction and its declared range (`range=(lo, hi)`, None = unbounded on that side).

    The range is required (register_task refuses a metric without one): a value outside it fails the cell at run
    time and is refused by validation, so an impossible number (accuracy 1.5) never reaches a table."""

    name: str
    direction: Direction = "max"
    description: str = ""
    range: Bounds | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise ValueError(f"metric '{self.name}': direction must be 'max' or 'min', got {self.direction!r}")
        if self.range is not None:
            if not (isinstance(self.range, tuple) and len(self.range) == 2):
                raise ValueError(f"metric '{self.name}': range must be a (lo, hi) tuple, got {self.range!r}")
            lo, hi = self.range
            for b in (lo, hi):
                if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b)):
                    raise ValueError(f"metric '{self.name}': range bounds must be finite numbers or None, got {b!r}")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"metric '{self.name}': range lower bound {lo} exceeds upper bound {hi}")

    def out_of_range(self, value: float) -> str | None:
        """None when value lies in the declared range, else a message saying why not."""
        lo, hi = self.range or (None, None)
        if lo is not None and value < lo:
            return f"{value!r} is below the metric's lower bound {lo}"
        if hi is not None and value > hi:
            return f"{value!r} is above the metric's upper bound {hi}"
        return None


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
    privileges: frozenset[str] = frozenset()  # what the method asks its family's contract for (e.g. "retain_model")

    def applies_to(self, family: str) -> bool:
        return family in self.family

    @property
    def source_file(self) -> str | None:
        """The file that defines the method (for provenance hashes)."""
        return _source_file(self.fn)


def register_method(
    name: str,
    family: str | tuple[str, ...] | list[str],
    config: type[StrictConfig] = EmptyConfig,
    kind: MethodKind = "method",
    description: str = "",
    paper: str = "",
    privileges: tuple[str, ...] | list[str] | frozenset[str] | set[str] = (),
) -> Callable[[Callable], Callable]:
    """Decorator: the one registration line of a method file.

    `privileges` names what the method asks its family's contract for beyond the public view (e.g. the retain
    model, pool group labels, true client quality). The task grants exactly these, nothing by name or kind; a
    privilege the family marks as unranked (it reveals hidden truth) requires kind 'reference' or 'oracle'.
    """
    fams = (family,) if isinstance(family, str) else tuple(family)
    if kind not in ("method", "baseline", "null", "reference", "oracle"):
        raise RegistryError(f"method '{name}': unknown kind {kind!r}")
    if not isinstance(name, str) or not _METHOD_NAME.fullmatch(name):
        raise RegistryError(f"method name {name!r}: use 1-64 characters from letters, digits and _ . + - "
                            "(starting with a letter or digit)")
    if isinstance(privileges, str):
        privileges = (privileges,)
    privs = frozenset(privileges)

    def deco(fn: Callable) -> Callable:
        desc = description or (fn.__doc__ or "").strip().split("\n")[0]
        METHODS.add(name, MethodSpec(name, fams, fn, config, kind, desc, paper, privs))
        return fn

    return deco


_METHOD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]{0,63}")


def _source_file(obj: Any) -> str | None:
    try:
        f = inspect.getsourcefile(obj)
    except TypeError:
        return None
    return str(Path(f).resolve()) if f else None


class Task:
    """Base class of a task. Subclasses set the class attributes and implement `load` and `evaluate`.

    One class can be registered several times with different `name`/`params` (variants, e.g. noise rates).
    Every task class declares its own `dataset` (register_task refuses one inherited from a parent class).

    What a method receives is the family contract's input view: `view(data, privileges, ctx)` builds it from the
    loaded data and the privileges the method declared (nothing hidden unless granted); `check_output` validates
    what the method returned against the contract's output type (an error names what is wrong).
    """

    name: str = ""
    family: str = ""
    version: str = "1"
    description: str = ""
    dataset: DatasetRef = DatasetRef("unspecified")
    metrics: tuple[Metric, ...] = ()
    primary_metric: str = ""
    config_cls: type[StrictConfig] = EmptyConfig
    # seeds of the task's protocol: the committed leaderboard records carry this many (sized so that the effects the
    # papers report are detectable; `run --task X` uses it). `full_suite_seeds` (if set, fewer) is what the
    # `--suite full` reproduction runs (still hours on 2 cores in all).
    default_seeds: int = 3
    full_suite_seeds: int | None = None
    # suites: smoke (seconds, never ranked), full (embedded default; hours on 2 cores), extended (heavier real-data
    # tasks), paper (the pretrained-model tier of the LM families)
    suites: tuple[str, ...] = ("smoke", "full")
    # artifact keys shown beside the metrics on the leaderboard (e.g. hyper-parameters a tuning protocol selected)
    table_artifacts: tuple[str, ...] = ()
    # `dcai-bench verify`: a re-run reproduces a record when every metric is within this absolute tolerance
    # (0.0 = exact, what deterministic CPU tasks meet; set it for tasks with nondeterministic kernels)
    verify_tolerance: float = 0.0

    def __init__(self, name: str | None = None, **params: Any):
        if name:
            self.name = name
        self.params = params  # defaults for config_cls, overridable per run

    # -- hooks -------------------------------------------------------------------------------------------------
    def load(self, cfg: Any, ctx: Context) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, data: Any, output: Any, cfg: Any, ctx: Context) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def view(self, data: Any, privileges: frozenset[str], ctx: Context) -> Any:
        """The method's input: the family contract's input view of `data`, with exactly the granted privileges.
        Families override this; the default refuses, so that no task hands its raw data (with hidden truth) over."""
        raise NotImplementedError(f"task '{self.name}' defines no method view (override Task.view)")

    def check_output(self, output: Any, data: Any, ctx: Context) -> Any:
        """Validate a method's output against the family contract (raises ContractError naming what is wrong)."""
        from .contract import contract_for

        return contract_for(self.family).check_output(output)

    def execute(self, method: MethodSpec, data: Any, method_cfg: Any, cfg: Any, ctx: Context) -> Any:
        """Run a method on its view of the data and validate its output. Interactive protocols (rounds, budgets)
        override this and build one view per round with `self.view`."""
        out = method.fn(self.view(data, method.privileges, ctx), method_cfg, ctx)
        return self.check_output(out, data, ctx)

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
        """Declared metrics only, all present, as floats (non-finite -> None), each inside its declared range."""
        declared = {m.name for m in self.metrics}
        missing = declared - set(values)
        extra = set(values) - declared
        if missing or extra:
            raise ValueError(f"task '{self.name}' evaluate(): missing metrics {sorted(missing)}, undeclared {sorted(extra)}")
        out: dict[str, float | None] = {}
        for k, v in values.items():
            f = float(v) if v is not None else None
            f = f if f is not None and math.isfinite(f) else None
            if f is not None:
                why = self.metric(k).out_of_range(f)
                if why:
                    raise ValueError(f"task '{self.name}' evaluate(): metric '{k}' = {why}")
            out[k] = f
        return out

    @property
    def source_file(self) -> str | None:
        return _source_file(type(self))


def register_task(task: Task) -> Task:
    if not task.name or not task.family:
        raise RegistryError(f"task {type(task).__name__}: name and family are required")
    if not _METHOD_NAME.fullmatch(task.name):
        raise RegistryError(f"task name {task.name!r}: use 1-64 characters from letters, digits and _ . + -")
    if not task.metrics:
        raise RegistryError(f"task '{task.name}': declare at least one metric")
    if "dataset" not in _own_attrs(type(task)):
        raise RegistryError(f"task '{task.name}' ({type(task).__name__}): declare its own `dataset = DatasetRef(...)` "
                            "(an inherited one would describe another task's data)")
    for m in task.metrics:
        if m.range is None:
            raise RegistryError(f"task '{task.name}': metric '{m.name}' declares no range; give range=(lo, hi) "
                                "(bench.api.PROPORTION, NONNEGATIVE, NONPOSITIVE, or UNBOUNDED)")
    names = [m.name for m in task.metrics]
    if len(set(names)) != len(names):
        raise RegistryError(f"task '{task.name}': duplicate metric names {names}")
    if task.primary_metric not in names:
        raise RegistryError(f"task '{task.name}': primary_metric '{task.primary_metric}' is not among {names}")
    return TASKS.add(task.name, task)


def _own_attrs(cls: type) -> set[str]:
    """Attributes a task class defines itself, or inherits from a class defined in the same module (a family's
    private base class in the task's own file counts as its own declaration)."""
    own: set[str] = set()
    for c in cls.__mro__:
        if c is Task or c is object:
            break
        if c is cls or c.__module__ == cls.__module__:
            own |= set(vars(c))
    return own


def methods_for(task: Task) -> list[MethodSpec]:
    return [m for _, m in METHODS.items() if m.applies_to(task.family)]


def dataclass_to_dict(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
