"""Name registries for task families, tasks and methods.

Registering a name twice is an error; looking up an unknown name suggests the closest registered one.
A method is one file with one registration line (`@register_method(...)`); discovery imports every module
under the `tasks` and `baselines` packages so that registrations happen without a central list.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
import traceback
from typing import Generic, Iterator, TypeVar

from .errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

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


def discover(packages: tuple[str, ...] = ("tasks", "baselines"), strict: bool = False) -> None:
    """Import every module under the given packages once, so their registration lines run.

    A module that fails to import (e.g. a missing optional dependency) is recorded in DISCOVERY_ERRORS
    and skipped, unless strict=True.
    """
    global _discovered
    if _discovered:
        return
    _discovered = True
    for pkg_name in packages:
        pkg = importlib.import_module(pkg_name)
        for info in sorted(pkgutil.walk_packages(pkg.__path__, prefix=pkg_name + "."), key=lambda i: i.name):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            try:
                importlib.import_module(info.name)
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                if strict:
                    raise
                DISCOVERY_ERRORS[info.name] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
