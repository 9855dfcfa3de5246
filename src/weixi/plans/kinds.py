"""The table of plan kinds: what ``kind:`` at the top of a plan file selects.

``kind: points`` (or no ``kind``) is the points plan, checked by :mod:`weixi.plans.loader` itself. Every other
kind belongs to a business package, which registers its checker here when it is imported, the way datasette's
built-in features register through the same hook as plugins:

* ``campaign`` — :mod:`weixi.campaigns.loader` (docs/campaigns.md)
* ``operations`` — :mod:`weixi.operations.plan` (docs/operations.md)
* ``incentive``, ``scorecard``, ... — :mod:`weixi.incentives.plan_loader` (docs/incentives.md); it registers
  itself as the checker of every kind that no one else names, so the incentive schema reports an unknown kind.

``weixi.plans`` never imports those packages (import-linter keeps it so: ``weixi.plans`` sits below them):
:func:`kinds` imports the modules named in :data:`BUILT_IN` by name the first time a plan file has a ``kind``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from weixi.plans.diagnostics import Diagnostic
from weixi.plans.yaml_source import Mapping

__all__ = ["BUILT_IN", "PlanKind", "kind_of", "kinds", "register"]

# the modules that register the built-in kinds; imported by name so that plans stays below its users
BUILT_IN = (
    "weixi.campaigns.loader",
    "weixi.operations.plan",
    "weixi.operations.calendar_file",
    "weixi.operations.surveys",
    "weixi.incentives.plan_loader",
)
ANY = "*"  # the name under which a kind registers as the checker of every kind no one else names

Loader = Callable[[Mapping, str], "tuple[object | None, list[Diagnostic]]"]


@dataclass(frozen=True)
class PlanKind:
    """One kind of plan file: its name(s), its checker and, optionally, a check across all files of the kind."""

    names: tuple[str, ...]  # the values of ``kind:`` it checks; (ANY,) for the fallback
    load: Loader  # (top-level mapping, file name) -> (plan or None, diagnostics)
    plan_type: type  # what ``load`` returns on success
    check_together: Callable[[list], list[Diagnostic]] | None = None  # e.g. incentive plans that overlap


_KINDS: dict[str, PlanKind] = {}
_loaded = False


def register(kind: PlanKind) -> PlanKind:
    """Add ``kind`` to the table under each of its names (a later registration of a name replaces the earlier)."""
    for name in kind.names:
        _KINDS[name] = kind
    return kind


def kinds() -> dict[str, PlanKind]:
    """The table, with the built-in kinds imported (once)."""
    global _loaded
    if not _loaded:
        for module in BUILT_IN:
            importlib.import_module(module)
        _loaded = True
    return _KINDS


def kind_of(node: Mapping) -> PlanKind | None:
    """The registered kind that checks this top-level mapping; ``None`` for a points plan."""
    entry = node.get("kind")
    if entry is None:
        return None
    name = getattr(entry.value, "value", None)
    if name == "points":
        return None
    table = kinds()
    return table.get(name) if isinstance(name, str) and name in table else table.get(ANY)
