"""Operations plans (``kind: operations``): assignment ratios, SLAs, contact policy, care calendar, templates.

Read with the plan language's machinery (positions, every error as file:line:col) and registered in
:mod:`weixi.plans.kinds` as the checker of ``kind: operations``, so ``weixi plan check`` checks these files like any plan.
Every key is described in docs/operations.md; the example is plans/examples/retention-operations.yaml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from weixi import settings
from weixi.messaging.templates import Template, TemplateError, check
from weixi.operations.birthday_plan import BIRTHDAY, BirthdayGift, read_gifts
from weixi.operations.promotions import PROMOTIONS, Promotions, read_promotions, star_key
from weixi.operations.share_out import SHARE_OUT, ShareOut, read_share_out
from weixi.plans import values as v
from weixi.plans.diagnostics import Diagnostic, Pos, Report
from weixi.plans.kinds import PlanKind, register
from weixi.plans.spec import Field, ListOf, Shape, Spec, read
from weixi.plans.yaml_source import Mapping, parse

DEFAULT = Path(__file__).resolve().parent.parent / "data" / "operations.yaml"
ROLES = ("manager", "senior_manager", "intern", "agent", "lead")
CHANNELS = ("call", "visit", "sms", "wechat", "email")
TASK_KINDS = ("retention_call", "care_call", "visit", "sms", "wechat", "email")
KIND_CHANNEL = dict(zip(TASK_KINDS, ("call", "call", "visit", "sms", "wechat", "email")))  # a task's channel
MESSAGE_KINDS = ("sms", "wechat", "email")
TRIGGERS = ("upgraded", "will_downgrade", "new_vip", "target_list", "winback", "points_expiring", "follow_up")
UNITS = ("working_days", "days", "weeks", "months")
PERIODS = ("week", "month", "quarter")
PURPOSES = ("service", "care", "marketing")
HOLIDAYS = ("new_year", "spring_festival", "qingming", "labour_day", "dragon_boat", "mid_autumn", "national_day")


def _clock(raw: object) -> time:
    try:
        hh, mm = v.text(raw).split(":")
        return time(int(hh), int(mm))
    except (ValueError, TypeError):
        raise v.BadValue("ops_plan_bad_time_of_day", value=v.text(raw)) from None


def _share(raw: object) -> Decimal:
    value = v.decimal(raw)
    if not Decimal(0) < value <= 1:
        raise v.BadValue("ops_plan_bad_share", value=value)
    return value


def _choices(values, what):
    return ListOf(v.choice(values, what))


WITHIN = Shape("within", {u: Field(v.non_negative_int) for u in UNITS}, one_of=UNITS)
TIER = Shape(
    "tier ratio",
    {
        "tier": Field(v.ident),
        "star_levels": Field(ListOf(v.int_between(1, 7, "star level"))),
        "ratio": Field(v.positive_int, required=True),
        "holders": Field(_choices(ROLES, "role")),
        "shifts": Field(ListOf(v.ident)),
    },
    one_of=("tier", "star_levels"),
)
RULE = Shape(
    "SLA rule",
    {
        "id": Field(v.ident, required=True),
        "on": Field(v.choice(TRIGGERS, "trigger"), required=True),
        "action": Field(v.choice(("bind", "task"), "action")),
        "task": Field(v.choice(TASK_KINDS, "task kind")),
        "purpose": Field(v.choice(PURPOSES, "purpose")),
        "within": Field(WITHIN, required=True),
        "template": Field(v.ident),
        "notice": Field(
            Shape(
                "notice",
                {
                    "task": Field(v.choice(MESSAGE_KINDS, "message kind"), required=True),
                    "template": Field(v.ident, required=True),
                    "working_days_before": Field(v.positive_int, required=True),
                },
            )
        ),
    },
)
CAP = Shape(
    "frequency cap",
    {
        "id": Field(v.ident, required=True),
        "channels": Field(_choices(CHANNELS, "channel"), required=True),
        "per": Field(v.choice(PERIODS, "period"), required=True),
        "max": Field(v.positive_int, required=True),
        "purposes": Field(_choices(PURPOSES, "purpose")),
    },
)
WHO = Shape(
    "who",
    {
        "tiers": Field(ListOf(v.ident)),
        "key_account": Field(ListOf(v.text)),
        "star_levels": Field(ListOf(v.int_between(1, 7, "star level"))),
    },
)
CADENCE = Shape(
    "cadence rule",
    {
        "id": Field(v.ident, required=True),
        "who": Field(WHO, required=True),
        "task": Field(v.choice(TASK_KINDS, "task kind"), required=True),
        "every": Field(v.choice(PERIODS, "period"), required=True),
        "template": Field(v.ident),
        "purpose": Field(v.choice(PURPOSES, "purpose")),
    },
)
TEMPLATE = Shape(
    "template",
    {
        "id": Field(v.ident, required=True),
        "channel": Field(v.choice(MESSAGE_KINDS, "channel"), required=True),
        "subject": Field(v.text),
        "body": Field(v.text, required=True),
    },
)
OCCASION = Shape(
    "occasion", {"template": Field(v.ident, required=True), "purpose": Field(v.choice(PURPOSES, "purpose"))}
)
CARE = Shape(
    "care",
    {
        "birthday": Field(BIRTHDAY),
        "holidays": Field(
            Shape(
                "holidays",
                {
                    "template": Field(v.ident, required=True),
                    "central": Field(_choices(HOLIDAYS, "holiday")),
                    "local": Field(_choices(HOLIDAYS, "holiday")),
                    "local_cities": Field(ListOf(v.text)),
                },
            )
        ),
        "solar_terms": Field(OCCASION),
        "points_expiring": Field(
            Shape(
                "points_expiring",
                {
                    "template": Field(v.ident, required=True),
                    "within_days": Field(v.positive_int, required=True),
                    "min_points": Field(v.positive_int),
                },
            )
        ),
    },
)
PLAN = Shape(
    "operations plan",
    {
        "kind": Field(v.choice(("operations",), "kind"), required=True),
        "plan": Field(v.ident, required=True),
        "name": Field(v.text, required=True),
        "description": Field(v.text),
        "assignment": Field(
            Shape(
                "assignment",
                {
                    "tiers": Field(ListOf(TIER), required=True),
                    "pool": Field(_choices(ROLES, "role")),
                    "new_vip_tiers": Field(ListOf(v.ident)),
                    "share_out": Field(SHARE_OUT),
                },
            ),
            required=True,
        ),
        "sla": Field(
            Shape(
                "sla",
                {
                    "target": Field(_share, required=True),
                    "escalate_after_working_days": Field(v.non_negative_int),
                    "promotions": Field(PROMOTIONS),
                    "rules": Field(ListOf(RULE), required=True),
                },
            ),
            required=True,
        ),
        "contact": Field(
            Shape(
                "contact",
                {
                    "quiet_hours": Field(
                        Shape("quiet hours", {"from": Field(_clock, required=True), "to": Field(_clock, required=True)})
                    ),
                    "caps": Field(ListOf(CAP)),
                    "cadence": Field(ListOf(CADENCE)),
                },
            )
        ),
        "care": Field(CARE),
        "templates": Field(ListOf(TEMPLATE)),
    },
)


@dataclass(frozen=True)
class TierRatio:
    tier: str | None  # a points tier, or None for star levels
    ratio: int  # members per manager (1:ratio)
    holders: tuple[str, ...]
    shifts: tuple[str, ...]
    star_levels: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        """The ratio group's name: the tier, or ``stars-5-6`` (:func:`weixi.operations.promotions.star_key`)."""
        return star_key(self.star_levels) if self.star_levels else self.tier


@dataclass(frozen=True)
class SlaRule:
    id: str
    on: str
    action: str  # bind | task
    task: str | None
    purpose: str
    amount: int
    unit: str
    template: str | None
    notice_task: str | None = None
    notice_template: str | None = None
    notice_days_before: int = 0


@dataclass(frozen=True)
class Cap:
    id: str
    channels: tuple[str, ...]
    per: str
    max: int
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class Cadence:
    id: str
    tiers: tuple[str, ...]
    key_account: tuple[str, ...]
    star_levels: tuple[int, ...]
    task: str
    every: str
    template: str | None
    purpose: str


@dataclass(frozen=True)
class Care:
    birthday_template: str | None = None
    lunar_birthdays: bool = True
    holiday_template: str | None = None
    central_holidays: tuple[str, ...] = ()
    local_holidays: tuple[str, ...] = ()
    local_cities: tuple[str, ...] = ()
    solar_term_template: str | None = None
    expiring_template: str | None = None
    expiring_within_days: int = 30
    expiring_min_points: int = 1
    birthday_gifts: tuple[BirthdayGift, ...] = ()  # what a birthday brings, by tier or star level


@dataclass(frozen=True)
class OperationsPlan:
    id: str
    name: str
    tiers: tuple[TierRatio, ...]
    pool: tuple[str, ...]
    new_vip_tiers: tuple[str, ...]
    sla_target: Decimal
    escalate_after: int
    rules: tuple[SlaRule, ...]
    quiet_from: time | None
    quiet_to: time | None
    caps: tuple[Cap, ...]
    cadence: tuple[Cadence, ...]
    care: Care
    templates: dict[str, Template]
    source: str = ""
    promotions: Promotions = Promotions()
    share_out: ShareOut = ShareOut()

    def rules_on(self, trigger: str) -> tuple[SlaRule, ...]:
        return tuple(r for r in self.rules if r.on == trigger)

    def ratio(self, tier: str) -> TierRatio | None:
        return next((t for t in self.tiers if t.key == tier), None)


def _vals(spec: Spec | None, key: str) -> tuple:
    return tuple(x.value for x in spec.items(key)) if spec is not None else ()


def _default_purpose(trigger: str, task: str | None) -> str:
    return {"target_list": "marketing", "winback": "marketing", "points_expiring": "service"}.get(trigger, "care")


def load_operations(node: Mapping, filename: str) -> tuple[OperationsPlan | None, list[Diagnostic]]:
    report = Report(filename)
    val = read(node, PLAN, report)
    spec: Spec | None = val.value if val else None
    plan = _resolve(spec, filename, report) if spec is not None else None
    found = sorted(report.items, key=Diagnostic.sort_key)
    return (None if report.has_errors else plan), found


def _resolve(spec: Spec, filename: str, report: Report) -> OperationsPlan | None:
    templates: dict[str, Template] = {}
    for item in spec.items("templates"):
        t: Spec = item.value
        tid = t.get("id")
        if tid in templates:
            report.error(t.at("id"), "ops_plan_template_id_twice", template=tid)
            continue
        tpl = Template(tid, t.get("channel"), t.get("body", ""), t.get("subject"))
        for key in ("body", "subject"):
            text = t.get(key)
            if text is None:
                continue
            try:
                check(tid, text)
            except TemplateError as exc:
                pos = t.at(key)
                line = pos.line + (exc.line or 1) - (0 if "\n" in text else 1)  # a block scalar starts a line below
                report.error(Pos(line, pos.column if line == pos.line else 1), exc.code, **exc.params)
        templates[tid] = tpl

    def need_template(owner: Spec, key: str = "template") -> None:
        tid = owner.get(key)
        if tid is not None and tid not in templates:
            code, hint = v.suggested("ops_plan_unknown_template", tid, templates)
            report.error(owner.at(key), code, key=key, template=tid, **hint)

    a: Spec = spec.get("assignment")
    tiers, seen, stars = [], set(), set()
    for item in a.items("tiers") if a else ():
        t: Spec = item.value
        if t.get("tier") is not None and t.get("tier") in seen:
            report.error(t.at("tier"), "ops_plan_tier_two_ratios", tier=t.get("tier"))
        seen.add(t.get("tier"))
        for star in sorted(set(_vals(t, "star_levels")) & stars):
            report.error(t.at("star_levels"), "ops_plan_star_level_two_ratios", star=star)
        stars |= set(_vals(t, "star_levels"))
        holders = _vals(t, "holders") or ("manager", "senior_manager")
        tiers.append(TierRatio(t.get("tier"), t.get("ratio"), holders, _vals(t, "shifts"), _vals(t, "star_levels")))
    s: Spec = spec.get("sla")
    rules, ids = [], set()
    for item in s.items("rules") if s else ():
        r: Spec = item.value
        if r.get("id") in ids:
            report.error(r.at("id"), "ops_plan_rule_id_twice", rule=r.get("id"))
        ids.add(r.get("id"))
        action = r.get("action", "task")
        if action == "task" and r.get("task") is None and r.get("on") != "follow_up":
            report.error(r.pos, "ops_plan_rule_needs_task", rule=r.get("id"), kinds=list(TASK_KINDS))
        if action == "bind" and r.get("on") not in ("upgraded", "new_vip"):
            report.error(r.at("action"), "ops_plan_bind_trigger")
        w: Spec | None = r.get("within")
        amount, unit = 0, "days"
        if w is not None:
            unit = next((u for u in UNITS if u in w.fields), "days")
            amount = w.get(unit, 0)
        if r.get("task") in MESSAGE_KINDS and r.get("template") is None:
            report.error(r.pos, "ops_plan_rule_needs_template", rule=r.get("id"), task=r.get("task"))
        need_template(r)
        notice: Spec | None = r.get("notice")
        if notice is not None:
            need_template(notice)
        rules.append(
            SlaRule(
                r.get("id"),
                r.get("on"),
                action,
                r.get("task"),
                r.get("purpose") or _default_purpose(r.get("on"), r.get("task")),
                amount,
                unit,
                r.get("template"),
                notice.get("task") if notice else None,
                notice.get("template") if notice else None,
                notice.get("working_days_before", 0) if notice else 0,
            )
        )
    c: Spec | None = spec.get("contact")
    quiet = c.get("quiet_hours") if c else None
    caps = []
    for item in c.items("caps") if c else ():
        x: Spec = item.value
        caps.append(
            Cap(x.get("id"), _vals(x, "channels"), x.get("per"), x.get("max"), _vals(x, "purposes") or PURPOSES)
        )
    cadence = []
    for item in c.items("cadence") if c else ():
        x: Spec = item.value
        who: Spec = x.get("who")
        if x.get("task") in MESSAGE_KINDS and x.get("template") is None:
            report.error(x.pos, "ops_plan_cadence_needs_template", rule=x.get("id"), task=x.get("task"))
        need_template(x)
        cadence.append(
            Cadence(
                x.get("id"),
                _vals(who, "tiers"),
                _vals(who, "key_account"),
                _vals(who, "star_levels"),
                x.get("task"),
                x.get("every"),
                x.get("template"),
                x.get("purpose", "care"),
            )
        )
    care_spec: Spec | None = spec.get("care")
    care = Care()
    if care_spec is not None:
        b, h, st, pe = (care_spec.get(k) for k in ("birthday", "holidays", "solar_terms", "points_expiring"))
        for part in (b, h, st, pe):
            if part is not None:
                need_template(part)
        care = Care(
            b.get("template") if b else None,
            b.get("lunar", True) if b else True,
            h.get("template") if h else None,
            _vals(h, "central"),
            _vals(h, "local"),
            _vals(h, "local_cities"),
            st.get("template") if st else None,
            pe.get("template") if pe else None,
            pe.get("within_days", 30) if pe else 30,
            pe.get("min_points", 1) if pe else 1,
            read_gifts(b, report),
        )
        if h is not None and set(_vals(h, "central")) & set(_vals(h, "local")):
            report.error(h.at("local"), "ops_plan_holiday_both")
    if report.has_errors:
        return None
    return OperationsPlan(
        spec.get("plan"),
        spec.get("name"),
        tuple(tiers),
        _vals(a, "pool") or ("agent",),
        _vals(a, "new_vip_tiers"),
        s.get("target"),
        s.get("escalate_after_working_days", 0),
        tuple(rules),
        quiet.get("from") if quiet else None,
        quiet.get("to") if quiet else None,
        tuple(caps),
        tuple(cadence),
        care,
        templates,
        filename,
        read_promotions(s.get("promotions")),
        read_share_out(a.get("share_out")),
    )


def load_operations_text(text: str, filename: str) -> tuple[OperationsPlan | None, list[Diagnostic]]:
    """Parsed once per content (the care, team and work pages read the plan every request: half their time)."""
    plan, diagnostics = _load_text(text, filename)
    return plan, list(diagnostics)


@lru_cache(maxsize=16)
def _load_text(text: str, filename: str) -> tuple[OperationsPlan | None, tuple[Diagnostic, ...]]:
    node, found = parse(text, filename)
    if isinstance(node, Mapping):
        plan, found = load_operations(node, filename)
        return plan, tuple(found)
    if node is not None:  # a scalar or a list: no plan
        found = [Diagnostic(filename, 1, 1, "error", "ops_plan_not_mapping")]
    return None, tuple(found)


def load_operations_plan(path: str | os.PathLike | None = None) -> tuple[OperationsPlan | None, list[Diagnostic]]:
    """Read an operations plan (default: ``WEIXI_OPS_PLAN`` or the packaged ``weixi/data/operations.yaml``)."""
    filename = str(path or settings.OPS_PLAN.raw() or DEFAULT)
    try:
        text = Path(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "no_such_file" if isinstance(exc, FileNotFoundError) else str(exc)
        return None, [Diagnostic(filename, 1, 1, "error", "ops_plan_unreadable", {"reason": reason})]
    return load_operations_text(text, filename)


register(PlanKind(("operations",), load_operations, OperationsPlan))
