"""Plan diagnostics and plan refusals carry codes of the error catalogue: every check reports a code with its
params, a text is refused, and a plan that cannot be applied is a coded error whose class gives its status."""

from __future__ import annotations

import pytest

from weixi.errors import Conflict, Invalid
from weixi.messages import render
from weixi.plans.diagnostics import Pos, Report
from weixi.plans.service import NoActivePlan, PlanConflict, PlanError, check_text
from weixi.plans.values import BadValue, got


def test_a_report_refuses_a_text_instead_of_a_code():
    report = Report("p.yaml")
    with pytest.raises(ValueError):
        report.error(Pos(1, 1), "unknown key 'x'")
    with pytest.raises(ValueError):
        BadValue("expected a number")
    report.warning(Pos(2, 3), "plan_points_never_expire")
    assert [(d.code, d.line, d.column, d.severity) for d in report.items] == [
        ("plan_points_never_expire", 2, 3, "warning")
    ]


@pytest.mark.parametrize(
    "raw, kind, value, english",
    [
        (None, "nothing", "", "nothing"),
        ("x", "text", "'x'", "text 'x'"),
        (3, "number", 3, "the number 3"),
        (True, "true", "", "true (a boolean)"),
    ],
)
def test_how_a_value_is_named_in_both_languages(raw, kind, value, english):
    params = {"key": "points", "expected": "number", **got(raw)}
    assert (params["got"], params["got_value"]) == (kind, value)
    d = Report("p.yaml")
    d.error(Pos(), "plan_expected_type", **params)
    assert d.items[0].message == f"points: expected a number, got {english}"
    assert "expected" not in render(d.items[0], "zh_CN")


def test_a_plan_with_errors_is_an_invalid_error_listing_its_diagnostics():
    with pytest.raises(PlanError) as caught:
        check_text("plan: x\n", "x.yaml")
    exc = caught.value
    assert isinstance(exc, Invalid) and exc.status == 422 and exc.code == "plan_invalid"
    assert exc.params == {"source": "x.yaml", "n": 1}
    assert [(d["code"], d["params"]) for d in exc.details] == [
        ("plan_missing_key", {"key": "name", "noun": "plan"}),
        ("plan_points_never_expire", {}),
    ]
    assert str(exc) == "x.yaml: 1 error(s); run 'weixi plan check x.yaml'"
    assert "weixi" not in render(exc, "zh_CN")


def test_refusals_by_the_ledger_are_conflicts():
    stock = PlanConflict("plan_stock_below_issued", source="p.yaml", reward="book", stock=1, issued=2)
    assert isinstance(stock, PlanError) and stock.status == 409
    assert (
        str(stock) == "p.yaml: book: stock 1 is below the 2 units already issued (stock counts every unit ever issued)"
    )
    several = PlanConflict("plan_stocks_below_issued_for", source="p.yaml", rewards=["book", "mug"])
    assert str(several).startswith("p.yaml: the stock of book, mug is below the units already issued")
    assert "book、mug" in render(several, "zh_CN")
    assert isinstance(NoActivePlan(), Conflict) and NoActivePlan().code == "no_active_plan"


def _names(kind, seen: set) -> set[str]:
    """Every section and choice name a schema puts into a sentence (``Shape.what``, a choice's ``what``)."""
    from weixi.plans.spec import Either, ListOf, Shape, Tagged

    if id(kind) in seen:
        return set()
    seen.add(id(kind))
    if isinstance(kind, Shape):
        return {kind.what} | {n for f in kind.fields.values() for n in _names(f.kind, seen)}
    if isinstance(kind, Tagged):
        fields = [*kind.common.values(), *(f for v in kind.variants.values() for f in v.values())]
        return {kind.what} | {n for f in fields for n in _names(f.kind, seen)}
    if isinstance(kind, ListOf):
        return _names(kind.item, seen)
    if isinstance(kind, Either):
        return _names(kind.scalar, seen) | _names(kind.shape, seen)
    names = set()
    for var, cell in zip(getattr(kind, "__code__", None) and kind.__code__.co_freevars or (), kind.__closure__ or ()):
        value = cell.cell_contents
        names |= (
            {value} if var == "what" and isinstance(value, str) else _names(value, seen) if callable(value) else set()
        )
    return names


def test_every_section_and_choice_of_every_plan_kind_has_a_name_in_both_languages():
    import importlib

    from weixi.messages import catalogue
    from weixi.plans.spec import Either, ListOf, Shape, Tagged
    from weixi.plans.values import noun

    found: set[str] = set()
    for module in ("plans.schema", "plans.retention", "operations.plan", "campaigns.schema", "incentives.plan_schema"):
        for value in vars(importlib.import_module(f"weixi.{module}")).values():
            if isinstance(value, (Shape, Tagged, ListOf, Either)):
                found |= _names(value, set())
    assert len(found) > 100
    for locale in ("en", "zh_CN"):
        entries = catalogue(locale)
        assert [w for w in sorted(found) if f"noun.{noun(w)}" not in entries] == [], locale
