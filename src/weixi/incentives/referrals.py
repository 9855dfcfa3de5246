"""Referral rewards (seed 003, 转介绍奖励方案): points for referring customers, cash for employees, fines.

A referral counts once the new customer is invoiced (``converted``) and, when the plan requires it, the
reward is approved (``approved_by``), the new customer came to the shop for the first time (``first_visit``:
"必须为首次到店客户") and the referrer's name and phone are on the new customer's yellow card (``yellow_card``:
"必须在新建黄卡上填写介绍人的姓名与电话 ... 如未填写,将取消奖励"). A fabricated referral (弄虚造假) fines the employee
who recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from weixi.incentives import amounts
from weixi.incentives.model import IncentivePlan
from weixi.incentives.records import BadField, Rejected, day, flag, text

COLUMNS = (
    "referral_id",
    "referrer_type",
    "referrer_id",
    "new_customer_id",
    "kind",
    "converted",
    "fabricated",
    "reward",
    "recorded_by",
    "approved_by",
    "occurred_on",
    "yellow_card",
    "first_visit",
)
REFERRER_TYPES = ("customer", "employee")
KINDS = ("referral", "lead")


@dataclass(frozen=True)
class CustomerAward:
    referral_id: str
    customer_id: str
    points: int  # 0 when the customer took the gift
    gift: str | None
    occurred_on: date
    approved_by: str | None

    @property
    def event_id(self) -> str:
        """The ledger event id: one posting per referral, however often it is run."""
        return f"incentive-referral-{self.referral_id}"


@dataclass(frozen=True)
class StaffReward:
    staff_id: str
    referral_id: str
    rule: str  # employee_referral | lead_converted | fabricated_fine
    yuan: Decimal
    code: str  # the explanation: a sentence of the catalogue (incentive_line.referral*, lead*) with its params
    params: dict

    def line(self) -> dict:
        return {
            "order_id": self.referral_id,
            "rule": self.rule,
            "measure": None,
            "units": "0",
            "kpi_points": "0",
            "yuan": amounts.yuan(self.yuan),
            "code": self.code,
            "params": self.params,
        }


@dataclass
class ReferralResult:
    customers: list[CustomerAward]
    staff: list[StaffReward]
    excluded: list[tuple[str, str, str, dict]]  # (staff_id or customer id, referral_id, reason code, params)
    rejected: list[Rejected]


def reward(
    plan: IncentivePlan,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    first: date,
    last: date,
    roles: dict[str, str] | None = None,
) -> ReferralResult:
    terms = plan.referral
    result = ReferralResult([], [], [], [])
    rows = list(rows)
    counts: dict[str, int] = {}
    for _, raw in rows:
        rid = str(raw.get("referral_id") or "").strip()
        counts[rid] = counts.get(rid, 0) + 1
    for row, raw in rows:
        rid = str(raw.get("referral_id") or "").strip()
        try:
            rid = text(raw, "referral_id")
            if counts[rid] > 1:
                raise BadField("incentive_referral_repeated", "referral_id", referral=rid, count=counts[rid])
            who = text(raw, "referrer_type")
            if who not in REFERRER_TYPES:
                raise BadField("incentive_bad_referrer_type", "referrer_type", value=who)
            referrer = text(raw, "referrer_id")
            kind = text(raw, "kind", required=False) or "referral"
            if kind not in KINDS:
                raise BadField("incentive_bad_referral_kind", "kind", value=kind)
            if who == "customer" and kind == "lead":
                raise BadField("incentive_customer_lead", "kind")
            new_customer = text(raw, "new_customer_id")
            converted, fabricated = flag(raw, "converted"), flag(raw, "fabricated")
            when = day(raw, "occurred_on")
            if not first <= when <= last:
                raise BadField("incentive_referral_outside_period", "occurred_on", day=when, first=first, last=last)
            recorded_by = text(raw, "recorded_by", required=False)
            approved = text(raw, "approved_by", required=False)
            choice = (text(raw, "reward", required=False) or "points").lower()
            if choice not in ("points", "gift"):
                raise BadField("incentive_bad_referral_reward", "reward", value=choice)
            staff_ids = [s for s in (referrer if who == "employee" else None, recorded_by) if s]
            if roles is not None:
                for s in staff_ids:
                    if s not in roles:
                        raise BadField("incentive_unknown_staff", None, staff=s)
        except BadField as exc:
            result.rejected.append(Rejected.of(rid, row, exc))
            continue
        said = {"referral": rid, "customer": new_customer, "plan": plan.id, "plan_name": plan.name or plan.id}
        if fabricated:
            culprit = referrer if who == "employee" else recorded_by
            if culprit is None:
                result.rejected.append(
                    Rejected.of(rid, row, BadField("incentive_fabricated_without_recorder", "recorded_by"))
                )
                continue
            result.staff.append(
                StaffReward(
                    culprit,
                    rid,
                    "fabricated_fine",
                    -terms.fabricated_fine_yuan,
                    "incentive_line.referral_fine",
                    dict(said, yuan=amounts.yuan(terms.fabricated_fine_yuan)),
                )
            )
            continue
        if not converted:
            result.excluded.append((referrer, rid, "incentive_excluded.not_bought", said))
            continue
        if terms.first_visit_only and not flag(raw, "first_visit"):  # "必须为首次到店客户"
            result.excluded.append((referrer, rid, "incentive_excluded.not_first_visit", said))
            continue
        if terms.requires_yellow_card and not flag(raw, "yellow_card"):  # "如未填写,将取消奖励"
            result.excluded.append((referrer, rid, "incentive_excluded.not_on_yellow_card", said))
            continue
        if terms.requires_approval and not approved:
            result.excluded.append((referrer, rid, "incentive_excluded.not_approved", said))
            continue
        if who == "customer":
            gift = terms.customer_gift if choice == "gift" else None
            result.customers.append(
                CustomerAward(rid, referrer, 0 if gift else terms.customer_points, gift, when, approved)
            )
            continue
        if roles is not None and roles.get(referrer) in terms.excluded_roles:
            why = dict(said, role=roles[referrer], roles=list(terms.excluded_roles))
            result.excluded.append((referrer, rid, "incentive_excluded.no_referral_role", why))
            continue
        amount = terms.employee_yuan if kind == "referral" else terms.lead_converted_yuan
        rule = "employee_referral" if kind == "referral" else "lead_converted"
        code = "incentive_line.referral" if kind == "referral" else "incentive_line.lead"
        params = dict(said, day=when.isoformat(), yuan=amounts.yuan(amount))
        if approved:
            code, params["approved_by"] = code + "_approved", approved
        result.staff.append(StaffReward(referrer, rid, rule, amount, code, params))
    return result
