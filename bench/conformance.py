"""Registry-driven conformance checks of methods against their family's contract.

In the spirit of scikit-learn's `parametrize_with_checks` and benchopt's `test_solver`: the checks are generated from
the registry, so a new method is checked the moment it is registered, with no list to edit and no method count.
`tests/test_conformance.py` parametrises them over every registered method; `dcai-bench test --method NAME` runs the
same checks on one method and prints each one with its reason.

Checks (per method x family the method applies to):
- `contract`      the family registers a contract; its input view declares its fields and none of them is named like
                  hidden truth (HIDDEN_TRUTH) unless the field carries the name of a privilege the contract offers;
                  the contract's null_method and easy_task exist and belong to the family.
- `privileges`    every privilege the method declares is offered by the contract; unranked ones (they reveal hidden
                  truth) only on kinds 'reference' / 'oracle'.
- `smoke`         one smoke cell (seed index 0) on the family's smoke task succeeds through the harness (`run_cell`);
                  the task handed the method the contract's input view (Task.view, of type input_type, without
                  privilege fields the method did not declare) and validated the output (Task.check_output).
- `deterministic` the same cell run a second time gives identical metrics.
- `beats_null`    kind 'method' only: on the contract's easy_task (with easy_overrides, not smoke, seed indices
                  0, 1, 2) the mean primary metric is strictly better than the null_method's (direction-aware).

The family's smoke task is the contract's easy_task when it is in the smoke suite, else the first task of the family
(by name) in the smoke suite, preferring tasks that are also in the full suite. Cells run into a temporary directory
and are cached per (task, method, seed index, smoke, overrides, repeat), so the checks share runs.
"""
from __future__ import annotations

import dataclasses
import re
import tempfile
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import BenchError

# Field names that denote what methods are measured on (hidden truth). Matched on whole '_'-separated tokens of the
# lower-cased field name. A family may expose such a field only as a privilege: the field then has the privilege's
# name (e.g. Privilege("pool_groups", ...) and a view field `pool_groups` that the task fills only when granted).
HIDDEN_TRUTH: tuple[tuple[str, str], ...] = (
    (r"y_test|test_labels?|labels?_test|y_true", "test labels"),
    (r"y_clean|clean_labels?|true_labels?|y_star", "clean labels"),
    (r"noise_mask|noisy_mask|is_noisy|is_corrupted|corrupted_mask|noise_flags?|flipped", "the noise mask"),
    (r"g_pool|pool_groups?|groups?_pool|pool_g", "group labels of the pool"),
    (r"true_\w+|\w+_true|truth|ground_truth|gold|gold_\w+", "ground truth"),
    (r"(client_|true_)?quality|effort|low_effort|is_low_effort|client_types?", "true client quality / effort"),
    (r"is_cheater|cheaters?|cheater_mask", "which workers cheat"),
    (r"is_bad|is_ideal|has_filler|bad_mask|injected", "which examples were corrupted"),
    (r"is_member|members|membership", "membership labels"),
    (r"secret\w*|oracle\w*", "hidden information"),
)
_HIDDEN = [(re.compile(rf"(?:^|_)(?:{pat})(?:$|_)"), what) for pat, what in HIDDEN_TRUTH]


def hidden_truth_reason(field_name: str) -> str | None:
    """What hidden truth a field name looks like (None if it looks like none)."""
    name = field_name.lower()
    for rx, what in _HIDDEN:
        if rx.search(name):
            return what
    return None


def input_fields(t: type) -> list[str] | None:
    """The declared fields of an input view type (dataclass, pydantic model, NamedTuple, TypedDict or annotated
    class); None when the type declares none (a plain dict, object)."""
    if dataclasses.is_dataclass(t):
        return [f.name for f in dataclasses.fields(t)]
    mf = getattr(t, "model_fields", None)
    if isinstance(mf, dict):
        return list(mf)
    if hasattr(t, "_fields"):
        return list(t._fields)
    if t in (dict, object, list, tuple) or t.__module__ == "builtins":
        return None
    try:
        hints = typing.get_type_hints(t)
    except Exception:  # noqa: BLE001 - unresolvable annotations: fall back to the raw ones
        hints = getattr(t, "__annotations__", {})
    return [k for k in hints if not k.startswith("_")] or None


@dataclass
class Check:
    """One check's outcome. `passed` is None when the check does not apply (e.g. beats_null for a baseline)."""

    name: str
    family: str
    passed: bool | None
    detail: str

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


@dataclass
class CellOutcome:
    task: str
    method: str
    seed_index: int
    status: str  # ok / smoke / failed, or 'error' when the cell could not be planned (config error)
    metrics: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    wall_s: float = 0.0
    views: list[str] = field(default_factory=list)  # problems seen in the views handed to the method
    n_views: int = 0
    n_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "smoke")

    @property
    def first_error_line(self) -> str:
        return first_line(self.error)


def first_line(error: str | None) -> str:
    lines = [ln for ln in (error or "").splitlines() if ln.strip()]
    return lines[0].strip() if lines else ""


class Conformance:
    """Runs the checks; caches cell outcomes so that several checks (and tests) share one run of each cell."""

    def __init__(self, results_dir: Path | None = None, full_discovery: bool = True):
        from .registry import discover

        if full_discovery:
            discover()
        self._tmp = None
        if results_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="dcai-conformance-")
            results_dir = Path(self._tmp.name)
        self.results_dir = Path(results_dir)
        self._cells: dict[tuple, CellOutcome] = {}

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- registry lookups ------------------------------------------------------------------------------------------
    @staticmethod
    def contract(family: str):
        from .contract import CONTRACTS

        return CONTRACTS._items.get(family)

    @staticmethod
    def smoke_task(family: str) -> str | None:
        """The family's smoke task (see the module docstring)."""
        from .registry import TASKS

        c = Conformance.contract(family)
        tasks = [(n, t) for n, t in TASKS.items() if t.family == family and "smoke" in t.suites]
        if c is not None and c.easy_task in {n for n, _ in tasks}:
            return c.easy_task
        tasks.sort(key=lambda nt: ("full" not in nt[1].suites, nt[0]))
        return tasks[0][0] if tasks else None

    # -- running cells ---------------------------------------------------------------------------------------------
    def run(self, task: str, method: str, seed_index: int = 0, smoke: bool = True,
            task_overrides: tuple[tuple[str, Any], ...] = (), repeat: int = 0) -> CellOutcome:
        key = (task, method, seed_index, smoke, tuple(sorted(task_overrides)), repeat)
        if key not in self._cells:
            self._cells[key] = self._run(task, method, seed_index, smoke, tuple(sorted(task_overrides)), repeat)
        return self._cells[key]

    def _run(self, task_name: str, method_name: str, seed_index: int, smoke: bool,
             task_overrides: tuple[tuple[str, Any], ...], repeat: int) -> CellOutcome:
        from .records import read_record
        from .registry import METHODS, TASKS
        from .runner import Cell, run_cell

        out = CellOutcome(task_name, method_name, seed_index, "error")
        try:
            task, spec = TASKS.get(task_name), METHODS.get(method_name)
        except BenchError as e:
            out.error = str(e)
            return out
        contract = self.contract(task.family)
        problems: list[str] = []
        counts = {"view": 0, "check": 0}
        cls_view, cls_check = type(task).view, type(task).check_output

        def view(data, privileges, ctx):
            v = cls_view(task, data, privileges, ctx)
            counts["view"] += 1
            if contract is not None and ctx.method == method_name:
                problems.extend(_view_problems(v, contract, privileges))
            return v

        def check_output(output, data, ctx):
            counts["check"] += 1
            return cls_check(task, output, data, ctx)

        cell = Cell(task_name, method_name, seed_index, smoke, task_overrides)
        task.view, task.check_output = view, check_output  # instance attributes shadow the class's methods
        t0 = time.perf_counter()
        try:
            status, path = run_cell(cell, self.results_dir / f"run{repeat}", force=True)
            rec = read_record(path)
            out.status = status
            out.metrics = {k: v.value for k, v in rec.metrics.items()}
            out.error = rec.error
        except BenchError as e:  # config errors raise before a record exists
            out.error = f"{type(e).__name__}: {e}"
        finally:
            del task.view, task.check_output
            out.wall_s = time.perf_counter() - t0
        out.views, out.n_views, out.n_checked = sorted(set(problems)), counts["view"], counts["check"]
        return out

    # -- family-level check ----------------------------------------------------------------------------------------
    def check_contract(self, family: str) -> Check:
        from .registry import METHODS, TASKS

        c = self.contract(family)
        if c is None:
            return Check("contract", family, False, f"family '{family}' registers no contract "
                                                    f"(add tasks/<family>/contract.py calling register_contract)")
        problems = []
        fields = input_fields(c.input_type)
        offered = {p.name for p in c.privileges}
        if fields is None:
            problems.append(f"input_type {c.input_type.__name__} declares no fields (use a dataclass, so that what a "
                            "method receives is explicit and checkable)")
        else:
            for f in fields:
                what = hidden_truth_reason(f)
                if what and f not in offered:
                    problems.append(f"input_type {c.input_type.__name__} has field '{f}', named like {what}: remove "
                                    f"it, or offer it only as a privilege named '{f}'")
        if not isinstance(c.output_type, type):
            problems.append(f"output_type {c.output_type!r} is not a type")
        if c.null_method is None:
            problems.append("contract declares no null_method (the trivial baseline every method must beat)")
        elif c.null_method not in METHODS:
            problems.append(f"null_method '{c.null_method}' is not a registered method")
        else:
            spec = METHODS.get(c.null_method)
            if not spec.applies_to(family):
                problems.append(f"null_method '{c.null_method}' does not apply to family '{family}'")
            elif spec.kind != "null":
                problems.append(f"null_method '{c.null_method}' has kind '{spec.kind}', expected 'null'")
        if c.easy_task is None:
            problems.append("contract declares no easy_task (where every method must beat the null_method)")
        elif c.easy_task not in TASKS:
            problems.append(f"easy_task '{c.easy_task}' is not a registered task")
        elif TASKS.get(c.easy_task).family != family:
            problems.append(f"easy_task '{c.easy_task}' belongs to family '{TASKS.get(c.easy_task).family}'")
        if problems:
            return Check("contract", family, False, "; ".join(problems))
        return Check("contract", family, True,
                     f"input {c.input_type.__name__} ({', '.join(fields or [])}) has no hidden-truth field; "
                     f"null '{c.null_method}', easy task '{c.easy_task}'")

    # -- method-level checks ---------------------------------------------------------------------------------------
    def check_privileges(self, method: str, family: str) -> Check:
        from .contract import ContractError
        from .registry import METHODS

        spec = METHODS.get(method)
        c = self.contract(family)
        if c is None:
            return Check("privileges", family, False, f"family '{family}' registers no contract")
        try:
            c.check_privileges(spec.name, spec.kind, spec.privileges)
        except ContractError as e:
            return Check("privileges", family, False, str(e))
        return Check("privileges", family, True,
                     f"declares {sorted(spec.privileges)}, all offered" if spec.privileges else "declares none")

    def check_smoke(self, method: str, family: str, task: str | None = None) -> Check:
        c = self.contract(family)
        if c is None:
            return Check("smoke", family, False, f"family '{family}' registers no contract")
        task = task or self.smoke_task(family)
        if task is None:
            return Check("smoke", family, False, f"family '{family}' has no task in the smoke suite")
        o = self.run(task, method)
        where = f"{task} (smoke, seed index 0)"
        if not o.ok:
            return Check("smoke", family, False, f"{where} failed: {o.first_error_line}")
        problems = list(o.views)
        if o.n_views == 0:
            problems.append(f"task '{task}' never built the method's input with Task.view (the method must receive "
                            f"the contract's {c.input_type.__name__})")
        if o.n_checked == 0:
            problems.append(f"task '{task}' never validated the method's output with Task.check_output")
        if problems:
            return Check("smoke", family, False, f"{where}: " + "; ".join(problems))
        return Check("smoke", family, True, f"{where}: ran in {o.wall_s:.1f} s; input was "
                                            f"{c.input_type.__name__}; output passed the contract")

    def check_deterministic(self, method: str, family: str, task: str | None = None) -> Check:
        if self.contract(family) is None:
            return Check("deterministic", family, False, f"family '{family}' registers no contract")
        task = task or self.smoke_task(family)
        if task is None:
            return Check("deterministic", family, False, f"family '{family}' has no task in the smoke suite")
        a = self.run(task, method)
        if not a.ok:
            return Check("deterministic", family, False, f"the smoke cell failed: {a.first_error_line}")
        b = self.run(task, method, repeat=1)
        if not b.ok:
            return Check("deterministic", family, False, f"the second run failed: {b.first_error_line}")
        diff = [f"{k}: {a.metrics.get(k)!r} then {b.metrics.get(k)!r}" for k in sorted(set(a.metrics) | set(b.metrics))
                if a.metrics.get(k) != b.metrics.get(k)]
        if diff:
            return Check("deterministic", family, False, f"{task}: the same cell twice gave different metrics: "
                                                         + "; ".join(diff))
        return Check("deterministic", family, True, f"{task}: the same cell twice gave identical metrics "
                                                    f"({', '.join(sorted(a.metrics))})")

    NULL_SEEDS = 3

    def check_beats_null(self, method: str, family: str) -> Check:
        from .registry import METHODS, TASKS

        spec = METHODS.get(method)
        if spec.kind != "method":
            return Check("beats_null", family, None, f"kind '{spec.kind}': only kind 'method' must beat the null")
        c = self.contract(family)
        if c is None:
            return Check("beats_null", family, False, f"family '{family}' registers no contract")
        if not c.null_method or not c.easy_task or c.easy_task not in TASKS:
            return Check("beats_null", family, False, "the contract declares no usable null_method / easy_task")
        task = TASKS.get(c.easy_task)
        metric = task.metric(task.primary_metric)
        means = {}
        for m in (method, c.null_method):
            vals = []
            for i in range(self.NULL_SEEDS):
                o = self.run(c.easy_task, m, seed_index=i, smoke=False, task_overrides=tuple(c.easy_overrides))
                if not o.ok:
                    return Check("beats_null", family, False,
                                 f"{c.easy_task} seed index {i}: '{m}' failed: {o.first_error_line}")
                v = o.metrics.get(task.primary_metric)
                if v is None:
                    return Check("beats_null", family, False,
                                 f"{c.easy_task} seed index {i}: '{m}' has no {task.primary_metric} value")
                vals.append(v)
            means[m] = sum(vals) / len(vals)
        better = means[method] > means[c.null_method] if metric.direction == "max" else \
            means[method] < means[c.null_method]
        ov = f" with {dict(c.easy_overrides)}" if c.easy_overrides else ""
        text = (f"{c.easy_task}{ov}, {self.NULL_SEEDS} seeds, mean {task.primary_metric} "
                f"({'higher' if metric.direction == 'max' else 'lower'} is better): '{method}' {means[method]:.4g} vs "
                f"null '{c.null_method}' {means[c.null_method]:.4g}")
        return Check("beats_null", family, bool(better), text if better else "does not beat the null: " + text)

    def check_method(self, method: str, task: str | None = None) -> list[Check]:
        """Every check of one method, for each family it applies to (or only the family of `task`)."""
        from .registry import METHODS, TASKS

        spec = METHODS.get(method)
        families = list(spec.family)
        if task is not None:
            t = TASKS.get(task)
            if not spec.applies_to(t.family):
                raise BenchError(f"method '{method}' (families {families}) does not apply to task '{task}' "
                                 f"(family '{t.family}')")
            families = [t.family]
        out: list[Check] = []
        for fam in families:
            out.append(self.check_contract(fam))
            out.append(self.check_privileges(method, fam))
            out.append(self.check_smoke(method, fam, task))
            out.append(self.check_deterministic(method, fam, task))
            out.append(self.check_beats_null(method, fam))
        return out


def _view_problems(view: Any, contract: Any, privileges: Iterable[str]) -> list[str]:
    """What is wrong with a view a task handed a method: wrong type, or a privilege field filled without the grant."""
    t = contract.input_type
    problems = []
    if isinstance(t, type) and t is not object and not isinstance(view, t):
        problems.append(f"the method received {type(view).__name__}, not the contract's input type {t.__name__}")
        return problems
    granted = set(privileges)
    for p in contract.privileges:
        if p.name in granted:
            continue
        val = view.get(p.name) if isinstance(view, dict) else getattr(view, p.name, None)
        if val is not None:
            problems.append(f"the view carries '{p.name}' although the method did not declare that privilege")
    return problems


def method_family_pairs() -> list[tuple[str, str]]:
    """(method, family) for every registered method and every family it applies to that has a task."""
    from .registry import METHODS, TASKS, discover

    discover()
    fams = {t.family for _, t in TASKS.items()}
    return [(n, f) for n, m in METHODS.items() for f in m.family if f in fams]


def task_families() -> list[str]:
    from .registry import TASKS, discover

    discover()
    return sorted({t.family for _, t in TASKS.items()})
