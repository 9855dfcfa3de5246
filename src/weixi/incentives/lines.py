"""A statement's explanation lines and excluded reasons as values: a catalogue code and its params, said in the
reader's language (issue 18 §2, issue 19 §5: every yuan links to its orders and rules).

A line is ``{"order_id", "rule", "measure", "units", "kpi_points", "yuan", "code", "params", "text"}``; an
excluded order ``{"order_id", "reasons": [{"code", "params"}], "reason"}``. ``text`` and ``reason`` are the English
sentences (the CLI's and the API's message); a page says ``code`` and ``params`` in its language with
:func:`say_line` and :func:`say_excluded`. The sentences are the ``incentive_line.*`` and ``incentive_excluded.*``
entries of the error catalogue (:mod:`weixi.messages`); the business is named there (``business.<code>``), the
roles through the names registry (``staff_role``), a rule by its ``name`` in the plan (``rule_name``), and a
plan's own ``reason:`` of an exclusion stays as the plan wrote it.
"""

from __future__ import annotations

from string import Formatter
from typing import Any, Mapping

from weixi.errors import Problem
from weixi.messages import DEFAULT_LOCALE, catalogue, render
from weixi.names import display, names

ORDER_CODES = (
    "incentive_line.order",
    "incentive_line.order_kpi_only",
    "incentive_line.order_no_units",
    "incentive_line.order_role_no_units",
)
ROLE_PARAMS = ("role", "roles", "unit_roles")  # params holding roster roles: shown by their staff_role name


def say(code: str, params: Mapping[str, Any], locale: str = "en") -> str:
    """The sentence of a line's or a reason's ``code`` with ``params`` in ``locale``."""
    shown = dict(params)
    for key in ROLE_PARAMS:
        value = shown.get(key)
        if isinstance(value, (list, tuple)):
            shown[key] = [display("staff_role", v, locale) for v in value]
        elif value is not None:
            shown[key] = display("staff_role", value, locale)
    return render(Problem(code, shown), locale)


def sql_text(code: str, exprs: Mapping[str, str], named: frozenset[str] = frozenset()) -> str:
    """The English sentence of ``code`` as one SQL expression over the columns of a set (``exprs``: each param's
    SQL expression), so that a month of lines is said in the query, not line by line in Python. A param value the
    catalogue names (``business.phone_for_credit``) or a role is named by a ``CASE``; params in ``named`` are
    already names. Says what :func:`say` says (``tests/unit/incentives/test_incentive_lines.py``)."""
    entries = catalogue(DEFAULT_LOCALE)
    parts = []
    for literal, field, _spec, _conv in Formatter().parse(entries[code].text):
        if literal:
            parts.append(_q(literal))
        if field is None:
            continue
        expr = f"CAST({exprs[field]} AS VARCHAR)"
        if field in named:
            parts.append(expr)
            continue
        if field in ROLE_PARAMS:
            choices = names("staff_role")
        else:
            prefix = field + "."
            choices = {k[len(prefix) :]: e.text for k, e in entries.items() if k.startswith(prefix)}
        if choices:
            cases = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in choices.items())
            expr = f"CASE {expr} {cases} ELSE {expr} END"
        parts.append(f"coalesce({expr}, '—')")
    return "(" + " || ".join(parts or ["''"]) + ")"


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def order_line(
    order_id: str,
    business: str,
    customer_id: str,
    expiring: bool,
    measure: str | None,
    units: str,
    kpi_only: bool,
    unit_roles: tuple[str, ...] | None,
    role: str,
    got_units: bool,
    household: int,
    yuan: str,
    plan_id: str,
    rule_id: str,
    rule_name: str,
) -> tuple[str, dict]:
    """(code, params) of the explanation of one counted order."""
    params: dict[str, Any] = {
        "order": order_id,
        "business": business,
        "customer": customer_id,
        "target": "expiring" if expiring else "non_expiring",
        "household": household,
        "yuan": yuan,
        "plan": plan_id,
        "rule": rule_id,
        "rule_name": rule_name or rule_id,
    }
    if measure is None:
        return "incentive_line.order_no_units", params
    params["measure"] = measure
    if not got_units:
        params.update(unit_roles=list(unit_roles or ()), role=role)
        return "incentive_line.order_role_no_units", params
    params["units"] = units
    return ("incentive_line.order_kpi_only" if kpi_only else "incentive_line.order"), params


def excluded(order_id: str, reasons: list[Mapping[str, str]]) -> dict:
    """An excluded order with its reasons (each a map of ``code`` and params from the SQL of
    :mod:`weixi.incentives.orders_sql`; ``roles`` there is a comma-joined list)."""
    found = []
    for r in reasons:
        params = {k: v for k, v in r.items() if k != "code"}
        if isinstance(params.get("roles"), str):
            params["roles"] = params["roles"].split(",")
        found.append({"code": r["code"], "params": params})
    return {"order_id": order_id, "reasons": found, "reason": "; ".join(say(f["code"], f["params"]) for f in found)}


def said(line: dict) -> dict:
    """``line`` (with its ``code`` and ``params``) and its English ``text``."""
    return dict(line, text=say(line["code"], line["params"]))


def say_line(line: Mapping[str, Any], locale: str) -> str:
    """A statement line in ``locale``; a line published before lines had codes shows its English text."""
    if line.get("code"):
        return say(line["code"], line.get("params") or {}, locale)
    return str(line.get("text") or "")


def say_excluded(entry: Mapping[str, Any], locale: str) -> str:
    """An excluded order's reasons in ``locale`` (joined), or its English reason when published without codes."""
    reasons = entry.get("reasons")
    if reasons:
        sep = "；" if locale.startswith("zh") else "; "
        return sep.join(say(r["code"], r.get("params") or {}, locale) for r in reasons)
    return str(entry.get("reason") or "")
