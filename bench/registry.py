"""Name registries for task families, tasks and methods.

Registering a name twice is an error; looking up an unknown name suggests the closest registered one.
A method is one file with one registration line (`@register_method(...)`); discovery imports every module
under the `tasks` and `baselines` packages so that registrations happen without a central list.
"""
from __future__ import annotations

import difflib
import fnmatch
import hashlib
import importlib
import importlib.util
import json
import os
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Generic, Iterable, Iterator, TypeVar

from .errors import RegistryError

T = TypeVar("T")
_ALL_REGISTRIES: list["Registry"] = []  # every registry (discovery attributes registrations to modules)


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        _ALL_REGISTRIES.append(self)

    def add(self, name: str, item: T) -> T:
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items:
            raise RegistryError(f"{self.kind} '{name}' is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._items), n=1, cutoff=0.4)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = ", ".join(sorted(self._items)[:12]) or "none registered"
            raise RegistryError(f"unknown {self.kind} '{name}'{hint} (known: {known})") from None

    def match(self, pattern: str) -> list[str]:
        """Names matching a glob pattern, or the exact name (error with suggestion if nothing matches)."""
        if any(c in pattern for c in "*?["):
            names = sorted(n for n in self._items if fnmatch.fnmatchcase(n, pattern))
            if not names:
                raise RegistryError(f"no {self.kind} matches '{pattern}'")
            return names
        self.get(pattern)
        return [pattern]

    def remove(self, name: str) -> None:  # for tests
        self._items.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())


FAMILIES: Registry = Registry("task family")
TASKS: Registry = Registry("task")
METHODS: Registry = Registry("method")

# modules that failed to import during discovery: module name -> error text (shown by `dcai-bench list`)
DISCOVERY_ERRORS: dict[str, str] = {}
_discovered = False
_PACKAGES = ("tasks", "baselines")
INDEX_VERSION = 1


def _walk(pkg_name: str, visit) -> None:  # noqa: ANN001
    """Import a package, then every module under it, depth first in name order, calling visit(name, is_package)
    around each import; modules and packages whose name starts with '_' are skipped (import those yourself)."""
    if not visit(pkg_name, True):
        return
    pkg = sys.modules[pkg_name]
    for info in sorted(pkgutil.iter_modules(pkg.__path__, prefix=pkg_name + "."), key=lambda i: i.name):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        if info.ispkg:
            _walk(info.name, visit)
        else:
            visit(info.name, False)


def _families_touched(before: dict[int, set[str]]) -> set[str]:
    """Families of what was registered since `before` ('*' for a registration in a registry of another kind)."""
    touched: set[str] = set()
    for reg in _ALL_REGISTRIES:
        for name in set(reg._items) - before.get(id(reg), set()):
            item = reg._items[name]
            if reg is TASKS:
                touched.add(item.family)
            elif reg is METHODS:
                touched.update(item.family)
            elif reg is FAMILIES:
                touched.add(name)
            elif reg.kind == "family contract":
                touched.add(item.family)
            else:
                touched.add("*")
    return touched


def _snapshot() -> dict[int, set[str]]:
    return {id(r): set(r._items) for r in _ALL_REGISTRIES}


def _import(name: str, strict: bool) -> bool:
    try:
        importlib.import_module(name)
        return True
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        if strict:
            raise
        DISCOVERY_ERRORS[name] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
        return False


def discover(packages: tuple[str, ...] = _PACKAGES, strict: bool = False) -> None:
    """Import every module under the given packages once, so their registration lines run.

    A module that fails to import (e.g. a missing optional dependency) is recorded in DISCOVERY_ERRORS
    and skipped, unless strict=True. A full discovery in a fresh process also writes the discovery index (which
    module registers what), so that `discover_for` can later import only what one cell needs.
    """
    global _discovered
    if _discovered:
        return
    _discovered = True
    fresh = packages == _PACKAGES and not any(m.partition(".")[0] in _PACKAGES for m in sys.modules)
    modules: dict[str, dict] = {}

    def visit(name: str, is_pkg: bool) -> bool:
        snap = _snapshot()
        ok = _import(name, strict)
        if ok:
            modules[name] = {"pkg": is_pkg, "families": sorted(_families_touched(snap))}
        return ok

    for pkg_name in packages:
        _walk(pkg_name, visit)
    if fresh and not DISCOVERY_ERRORS:
        _write_index(modules)


# -- the discovery index: import only what a cell needs ----------------------------------------------------------
def _fingerprint() -> str:
    """Names, sizes and modification times of every .py file of the discovered packages (a changed, added or removed
    file changes it, and the index is rebuilt)."""
    h = hashlib.sha256(f"{INDEX_VERSION}".encode())
    for pkg_name in _PACKAGES:
        spec = importlib.util.find_spec(pkg_name)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for f in sorted(Path(root).rglob("*.py")):
                st = f.stat()
                h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _index_path() -> Path:
    from .paths import cache_dir

    cache = cache_dir()
    where = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:16]
    return cache / "discovery" / f"index-{where}.json"


def _write_index(modules: dict[str, dict]) -> None:
    body = {"version": INDEX_VERSION, "fingerprint": _fingerprint(), "modules": modules,
            "tasks": {n: t.family for n, t in TASKS.items()},
            "methods": {n: list(m.family) for n, m in METHODS.items()}}
    path = _index_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(body, f)
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs speed
        pass


def _read_index() -> dict | None:
    try:
        body = json.loads(_index_path().read_text())
    except (OSError, ValueError):
        return None
    if body.get("version") != INDEX_VERSION or body.get("fingerprint") != _fingerprint():
        return None
    return body


def discover_for(tasks: Iterable[str] = (), methods: Iterable[str] = (), families: Iterable[str] = ()) -> None:
    """Make the named tasks and methods (and everything of their families) registered, importing as little as
    possible: from the discovery index, every module of each package (folder) that registers anything for one of
    those families. Falls back to a full `discover()` when the index is missing or out of date, or a name is not
    in it (the error for an unknown name then suggests the closest one)."""
    tasks, methods, families = list(tasks), list(methods), set(families)
    if _discovered:
        return
    if all(t in TASKS for t in tasks) and all(m in METHODS for m in methods) and not families:
        fams = {TASKS.get(t).family for t in tasks} | {f for m in methods for f in METHODS.get(m).family}
        if fams and all(f in _partial for f in fams):
            return
    index = _read_index()
    if index is None or any(t not in index["tasks"] for t in tasks) or any(m not in index["methods"] for m in methods):
        discover()
        return
    families |= {index["tasks"][t] for t in tasks} | {f for m in methods for f in index["methods"][m]}

    def folder(mod: str) -> str:
        return mod if index["modules"][mod]["pkg"] else mod.rsplit(".", 1)[0]

    folders = {folder(m) for m, info in index["modules"].items() if {"*", *families} & set(info["families"])}
    for mod in index["modules"]:  # index order = full discovery order
        if folder(mod) in folders:
            _import(mod, strict=False)
    _partial.update(families)


_partial: set[str] = set()  # families imported completely by discover_for
