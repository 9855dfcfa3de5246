"""Checks shared by the resolvers: duplicate ids, references, windows and money.

No I/O: each helper takes spec values and a :class:`Report` and returns resolved values.
"""

from __future__ import annotations

from decimal import Decimal

from weixi.plans.diagnostics import Pos, Report
from weixi.plans.model import Window
from weixi.plans.spec import Spec, Val
from weixi.plans.values import noun, suggested


def where(pos: Pos) -> str:
    return f"line {pos.line}, column {pos.column}"


def unique(items: tuple[Val, ...], key: str, what: str, report: Report) -> dict[object, Spec]:
    """Specs by ``key``; a repeated value is reported at its second occurrence."""
    seen: dict[object, Spec] = {}
    for item in items:
        spec = item.value
        value = spec.get(key)
        if value is None:
            continue
        if value in seen:
            first = seen[value].at(key)
            report.error(
                spec.at(key), "plan_duplicate_id", noun=noun(what), value=value, line=first.line, column=first.column
            )
            continue
        seen[value] = spec
    return seen


def references(spec: Spec, key: str, known, what: str, report: Report) -> tuple[str, ...]:
    """The ids listed under ``key``; each must be in ``known``."""
    found = []
    for item in spec.items(key):
        if item.value in known:
            if item.value not in found:
                found.append(item.value)
        else:
            code, hint = suggested("plan_unknown_reference", item.value, known)
            report.error(item.pos, code, noun=noun(what), value=item.value, **hint)
    return tuple(found)


def window(spec: Spec | None, report: Report) -> Window:
    if spec is None:
        return Window()
    start, end = spec.get("from"), spec.get("to")
    if start is not None and end is not None and end < start:
        report.error(spec.at("to"), "plan_window_reversed", end=end, start=start)
    return Window(start, end)


def fen(yuan: Decimal) -> Decimal:
    """Yuan to fen, exactly, without trailing zeros (``Decimal("0.008")`` -> ``Decimal("0.8")``)."""
    value = (yuan * 100).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def whole_fen(spec: Spec, key: str, report: Report) -> int:
    """An amount in yuan that must be a whole number of fen (``1.5`` yuan -> 150)."""
    yuan = spec.get(key)
    if yuan is None:
        return 0
    value = fen(yuan)
    if value != value.to_integral_value():
        report.error(spec.at(key), "plan_not_whole_fen", key=key, yuan=yuan)
        return 0
    return int(value)
