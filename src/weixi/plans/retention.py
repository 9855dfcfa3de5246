"""Retention plans (``kind: retention``): target lists, offers and the control group, as a plan file.

A retention plan is a separate file from the points plan: it changes monthly with the outbound centre's
campaign while the points plan is versioned in the ledger, and it never affects a balance. It is read with the
same machinery as points plans (positions, every error with file:line:col) by :func:`load_retention_plan`.
See docs/targets.md for every key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from weixi.plans import values as v
from weixi.plans.diagnostics import Diagnostic, Pos, Report
from weixi.plans.spec import Field, ListOf, Shape, Spec, read
from weixi.plans.yaml_source import Mapping, Scalar, parse

DEFAULT = Path(__file__).resolve().parent.parent / "data" / "retention.yaml"
CARD_ROLES = ("primary", "secondary")
NETWORKS = ("4G", "5G")
PAYMENT = ("prepaid", "postpaid")


def _share(raw: object) -> Decimal:
    value = v.decimal(raw)
    if not (Decimal(0) <= value < 1):
        raise v.BadValue("plan_share_out_of_range", value=value)
    return value


def _probability(raw: object) -> Decimal:
    value = v.decimal(raw)
    if not (Decimal(0) <= value <= 1):
        raise v.BadValue("plan_probability_out_of_range", value=value)
    return value


def _fraction(raw: object) -> Decimal:
    """A ratio or share that may be 0 or 1 (a usage ratio, a margin), not a probability."""
    value = v.decimal(raw)
    if not (Decimal(0) <= value <= 1):
        raise v.BadValue("plan_fraction_out_of_range", value=value)
    return value


def _list_of(choices: tuple[str, ...], what: str):
    return ListOf(v.choice(choices, what))


ELIGIBLE = Shape(
    "eligibility",
    {
        "card_role": Field(_list_of(CARD_ROLES, "card role")),
        "payment_type": Field(_list_of(PAYMENT, "payment type")),
        "network": Field(_list_of(NETWORKS, "network")),
        "min_monthly_rent_yuan": Field(v.non_negative_decimal),
        "broadband": Field(v.boolean),
        "broadband_only": Field(v.boolean),
        "max_broadband_mbps": Field(v.positive_int),
        "subsidy_running": Field(v.boolean),
        "min_tenure_months": Field(v.non_negative_int),
        "lists": Field(ListOf(v.choice(("expiring", "high_risk", "silent", "winback"), "list"))),
    },
)
OFFER = Shape(
    "offer",
    {
        "id": Field(v.ident, required=True),
        "name": Field(v.text, required=True),
        "description": Field(v.text),
        "cost_yuan": Field(v.non_negative_decimal),
        "points": Field(v.positive_int),
        "for_reasons": Field(ListOf(v.ident)),
        "eligible": Field(ELIGIBLE),
    },
)
PLAN = Shape(
    "retention plan",
    {
        "kind": Field(v.choice(("retention",), "kind"), required=True),
        "plan": Field(v.ident, required=True),
        "name": Field(v.text, required=True),
        "description": Field(v.text),
        "expiring": Field(Shape("expiring", {"window_days": Field(v.positive_int, required=True)}), required=True),
        "high_risk": Field(Shape("high_risk", {"min_probability": Field(_probability, required=True)}), required=True),
        "silent": Field(Shape("silent", {"max_usage_ratio": Field(_fraction, required=True)})),
        "winback": Field(Shape("winback", {"left_within_days": Field(v.positive_int, required=True)})),
        "control": Field(
            Shape("control", {"share": Field(_share, required=True), "seed": Field(v.non_negative_int)}), required=True
        ),
        "value": Field(
            Shape(
                "value",
                {
                    "margin_share": Field(_fraction, required=True),
                    "months": Field(v.positive_int, required=True),
                    "source": Field(v.choice(("weixi", "clv"), "value source")),
                },
            ),
            required=True,
        ),
        "offers": Field(ListOf(OFFER), required=True),
    },
)


@dataclass(frozen=True)
class Eligibility:
    card_role: tuple[str, ...] = ()
    payment_type: tuple[str, ...] = ()
    network: tuple[str, ...] = ()
    min_monthly_rent_yuan: Decimal | None = None
    broadband: bool | None = None
    max_broadband_mbps: int | None = None
    subsidy_running: bool | None = None
    min_tenure_months: int | None = None
    lists: tuple[str, ...] = ()
    broadband_only: bool | None = None  # 单宽带: broadband and no mobile line (seed 003's 预存送费 customers)


@dataclass(frozen=True)
class Offer:
    id: str
    name: str
    description: str
    cost_yuan: Decimal
    points: int | None
    for_reasons: tuple[str, ...]
    eligible: Eligibility


@dataclass(frozen=True)
class RetentionPlan:
    id: str
    name: str
    expiring_window_days: int
    high_risk_min_probability: Decimal
    silent_max_usage_ratio: Decimal | None
    winback_days: int | None
    control_share: Decimal
    control_seed: int
    margin_share: Decimal
    value_months: int
    value_source: str
    offers: tuple[Offer, ...]
    source: str = ""


def _vals(spec: Spec, key: str) -> tuple:
    return tuple(x.value for x in spec.items(key))


def _eligibility(spec: Spec | None) -> Eligibility:
    if spec is None:
        return Eligibility()
    return Eligibility(
        _vals(spec, "card_role"),
        _vals(spec, "payment_type"),
        _vals(spec, "network"),
        spec.get("min_monthly_rent_yuan"),
        spec.get("broadband"),
        spec.get("max_broadband_mbps"),
        spec.get("subsidy_running"),
        spec.get("min_tenure_months"),
        _vals(spec, "lists"),
        spec.get("broadband_only"),
    )


def load_retention_text(text: str, filename: str) -> tuple[RetentionPlan | None, list[Diagnostic]]:
    node, diagnostics = parse(text, filename)
    if node is None:
        return None, diagnostics
    report = Report(filename)
    if not isinstance(node, Mapping) or (isinstance(node, Scalar) and node.value is None):
        report.error(Pos(1, 1), "retention_plan_not_mapping")
        return None, report.items
    val = read(node, PLAN, report)
    spec: Spec = val.value if val else None
    offers = []
    if spec is not None:
        seen: set[str] = set()
        for item in spec.items("offers"):
            o: Spec = item.value
            if o.get("id") in seen:
                report.error(o.at("id"), "retention_offer_id_twice", offer=o.get("id"))
            seen.add(o.get("id"))
            offers.append(
                Offer(
                    o.get("id", ""),
                    o.get("name", ""),
                    o.get("description", ""),
                    o.get("cost_yuan", Decimal(0)),
                    o.get("points"),
                    _vals(o, "for_reasons"),
                    _eligibility(o.get("eligible")),
                )
            )
        if "offers" in spec.fields and not offers:
            report.error(spec.at("offers"), "retention_no_offers")
    found = sorted(report.items, key=Diagnostic.sort_key)
    if report.has_errors or spec is None:
        return None, found
    exp, risk, ctl, val_ = spec.get("expiring"), spec.get("high_risk"), spec.get("control"), spec.get("value")
    silent, winback = spec.get("silent"), spec.get("winback")
    plan = RetentionPlan(
        spec.get("plan"),
        spec.get("name"),
        exp.get("window_days"),
        risk.get("min_probability"),
        silent.get("max_usage_ratio") if silent else None,
        winback.get("left_within_days") if winback else None,
        ctl.get("share"),
        ctl.get("seed", 0),
        val_.get("margin_share"),
        val_.get("months"),
        val_.get("source", "weixi"),
        tuple(offers),
        filename,
    )
    return plan, found


def load_retention_plan(path: str | os.PathLike | None = None) -> tuple[RetentionPlan | None, list[Diagnostic]]:
    """Read a retention plan (default: the packaged ``weixi/data/retention.yaml``)."""
    filename = str(path or DEFAULT)
    try:
        text = Path(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "no_such_file" if isinstance(exc, FileNotFoundError) else str(exc)
        return None, [Diagnostic(filename, 1, 1, "error", "retention_plan_unreadable", {"reason": reason})]
    return load_retention_text(text, filename)
