"""What applying a plan would change: the differences between two resolved plans, section by section.

Pure (no I/O): :func:`diff` compares the active plan with the one about to be applied and returns :class:`Change`
values, each a section (``settings``, ``tiers``, ``tier_policy``, ``segments``, ``earning``, ``caps``, ``rewards``),
what happened to one item of it (``added``, ``removed``, ``changed``), the item's id and name, and for a changed
item its changed fields (:class:`FieldChange`: field code, value before, value after, as plain values). Nothing here
says a sentence: the console names sections, fields and values in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import Any

from weixi.plans.model import Plan

# The plan's settings compared field by field (the sections of items are compared item by item).
SETTINGS = (
    "name",
    "description",
    "expiry",
    "consumption_order",
    "reversal_policy",
    "registration_required",
    "timezone",
    "cost_per_point_fen",
    "max_amount_fen",
)
SEGMENTS = ("star_levels", "value_pyramid", "activity", "rfm", "key_accounts")
# Fields of an item that identify it or say nothing to a reader.
SKIPPED = frozenset({"id", "source", "extra"})


@dataclass(frozen=True)
class FieldChange:
    field: str  # a field code; nested fields joined with a dot (``expiry.n``, ``window.end``)
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    section: str
    kind: str  # added, removed, changed
    id: str
    name: str
    fields: tuple[FieldChange, ...] = ()


def plain(value: Any) -> Any:
    """A value as the diff gives it: enums by their value, tuples of values as tuples, dates, numbers, text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return tuple(plain(v) for v in value)
    return value


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass's fields as ``{code: plain value}``, nested dataclasses (an expiry, a window, an audience)
    flattened one level with a dotted code; tuples of dataclasses (streak bonuses, merchants) kept whole."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        if f.name in SKIPPED:
            continue
        value = getattr(obj, f.name)
        code = f"{prefix}{f.name}"
        if is_dataclass(value) and not prefix:
            out.update(_flat(value, code + "."))
        else:
            out[code] = plain(value)
    return out


def _field_changes(before: Any, after: Any) -> tuple[FieldChange, ...]:
    old, new = _flat(before), _flat(after)
    if type(before) is not type(after):
        old["type"], new["type"] = _type_of(before), _type_of(after)
    return tuple(
        FieldChange(code, old.get(code), new.get(code))
        for code in sorted(set(old) | set(new), key=lambda c: (c != "type", c != "name", c))
        if old.get(code) != new.get(code)
    )


def _type_of(item: Any) -> str:
    """An earning rule's kind of class (``spend``, ``recharge``, ``purchase_count``, ...)."""
    name = type(item).__name__.removesuffix("Rule")
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _items(section: str, before: tuple, after: tuple) -> list[Change]:
    old = {i.id: i for i in before}
    new = {i.id: i for i in after}
    out = []
    for item in after:
        if item.id not in old:
            out.append(Change(section, "added", item.id, getattr(item, "name", item.id)))
        elif old[item.id] != item:
            changes = _field_changes(old[item.id], item)
            if changes:
                out.append(Change(section, "changed", item.id, getattr(item, "name", item.id), changes))
    for item in before:
        if item.id not in new:
            out.append(Change(section, "removed", item.id, getattr(item, "name", item.id)))
    return out


def _whole(section: str, code: str, before: Any, after: Any) -> list[Change]:
    """An optional part of the plan (the tier policy, one segmentation): added, removed or changed."""
    if before == after:
        return []
    if before is None:
        return [Change(section, "added", code, code)]
    if after is None:
        return [Change(section, "removed", code, code)]
    return [Change(section, "changed", code, code, _field_changes(before, after))]


def diff(before: Plan | None, after: Plan) -> list[Change]:
    """What applying ``after`` changes when ``before`` is in force (everything is added when none is)."""
    if before is None:
        return [Change("settings", "added", after.id, after.name)]
    out: list[Change] = []
    old, new = _flat(before), _flat(after)
    settings = tuple(
        FieldChange(code, old.get(code), new.get(code))
        for code in sorted(set(old) | set(new))
        if code.split(".")[0] in SETTINGS and old.get(code) != new.get(code)
    )
    if before.id != after.id:
        settings = (FieldChange("plan_id", before.id, after.id), *settings)
    if settings:
        out.append(Change("settings", "changed", after.id, after.name, settings))
    out += _items("tiers", before.tiers, after.tiers)
    out += _whole("tier_policy", "tier_policy", before.tier_policy, after.tier_policy)
    for code in SEGMENTS:
        b = getattr(before.segments, code, None) if before.segments else None
        a = getattr(after.segments, code, None) if after.segments else None
        out += _whole("segments", code, b, a)
    out += _items("earning", before.earning, after.earning)
    out += _items("caps", before.caps, after.caps)
    out += _items("rewards", before.rewards, after.rewards)
    return out
