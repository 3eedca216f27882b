"""Family contracts: what a method of a family receives, what it must return, and what it may ask for.

Each family declares one `Contract` in `tasks/<family>/contract.py` and registers it with `register_contract`:
- `input_type`: the method's input view (a dataclass). It carries no hidden truth (clean labels, test labels, group
  labels of the pool, true client quality ...) unless a privilege grants it.
- `output_type`: what a method returns. It has `validate(self, **expected)` raising `ContractError` naming what is
  wrong, and optionally a classmethod `coerce(value)` that accepts a plain value (e.g. an int array) and wraps it.
- `privileges`: the extra inputs a method may declare on registration (`register_method(..., privileges={...})`).
  The task grants exactly the declared ones (never by method name or kind). A privilege with `ranked=False`
  reveals what methods are measured on; a method holding it must be kind 'reference' or 'oracle' (never ranked).
- `null_method` / `easy_task`: the family's trivial baseline and an instance on which every method of kind 'method'
  must beat it (checked by the registry-driven conformance tests, `dcai-bench test --method NAME`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BenchError
from .registry import Registry


class ContractError(BenchError, ValueError):
    """A method's output (or declared privileges) does not meet its family's contract. The message says what."""


@dataclass(frozen=True)
class Privilege:
    name: str
    description: str
    ranked: bool = True  # False: reveals hidden truth, only reference/oracle methods may hold it


@dataclass(frozen=True)
class Contract:
    family: str
    input_type: type
    output_type: type
    description: str = ""
    privileges: tuple[Privilege, ...] = ()
    null_method: str | None = None
    easy_task: str | None = None  # a task of the family where kind='method' rows must beat null_method
    easy_overrides: tuple[tuple[str, Any], ...] = ()  # task-config overrides that keep the easy instance quick

    def privilege(self, name: str) -> Privilege:
        for p in self.privileges:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.privileges) or "none"
        raise ContractError(f"family '{self.family}' offers no privilege '{name}' (it offers: {known})")

    def check_privileges(self, method: str, kind: str, privileges: frozenset[str]) -> None:
        """Every declared privilege exists; unranked ones only for reference/oracle methods."""
        for name in sorted(privileges):
            p = self.privilege(name)
            if not p.ranked and kind not in ("reference", "oracle"):
                raise ContractError(f"method '{method}' declares privilege '{name}' ({p.description}), which reveals "
                                    f"hidden truth: register it with kind='reference' or kind='oracle'")

    def check_output(self, output: Any, **expected: Any) -> Any:
        """Coerce (when the output type offers it), type-check and validate a method's output."""
        t = self.output_type
        coerce = getattr(t, "coerce", None)
        if coerce is not None and not isinstance(output, t):
            output = coerce(output)
        if not isinstance(output, t):
            raise ContractError(f"a '{self.family}' method must return {t.__name__}, got {type(output).__name__}")
        validate = getattr(output, "validate", None)
        if validate is not None:
            validate(**expected)
        return output


CONTRACTS: Registry = Registry("family contract")


def register_contract(contract: Contract) -> Contract:
    return CONTRACTS.add(contract.family, contract)


def contract_for(family: str) -> Contract:
    return CONTRACTS.get(family)
