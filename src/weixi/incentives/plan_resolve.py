"""Spec -> :class:`IncentivePlan`, with every check that needs more than one key (no I/O).

Reported here: weights that do not add up to 100% (at the ``weights`` line), grade bands with gaps or
overlaps, cash tiers that leave households unpaid, unknown grades and condition fields, one rule per
business, duplicate ids.
"""

from __future__ import annotations

from decimal import Decimal

from weixi.incentives import model as m
from weixi.incentives import plan_workflow
from weixi.incentives.plan_schema import percent
from weixi.incentives.roles import OTHER
from weixi.plans.checks import unique
from weixi.plans.diagnostics import Pos, Report
from weixi.plans.model import Window
from weixi.plans.spec import Spec, bad_value
from weixi.plans.values import BadValue, decimal, got, suggested, suggestion
from weixi.plans.yaml_source import Mapping, Scalar, Sequence

HUNDRED = Decimal(100)


def resolve(spec: Spec, filename: str, report: Report) -> m.IncentivePlan:
    kind = spec.get("kind")
    valid = _valid(spec, report)
    plan = m.IncentivePlan(
        id=spec.get("plan", ""),
        name=spec.get("name", ""),
        kind=kind or "",
        description=spec.get("description", ""),
        valid=valid,
        replaces=spec.get("replaces"),
        business=spec.get("business"),
        period=spec.get("period", "month"),
        roles=tuple(i.value for i in spec.items("roles")),
        source=filename,
        valid_at=(spec.key_at("valid").line, spec.key_at("valid").column),
        approval=plan_workflow.approval(spec, report),
        suspended=plan_workflow.suspended(spec, report),
    )
    if kind == "incentive":
        return _replace(plan, orders=_orders(spec, report), kpi=plan_workflow.kpi(spec))
    if kind == "scorecard":
        return _replace(plan, scorecard=_scorecard(spec, report))
    if kind == "discipline":
        unique(spec.items("violations"), "id", "violation", report)
        for s in (i.value for i in spec.items("violations")):  # a violation deducts points, costs yuan, or both
            if not s.get("kpi_points") and not s.get("fine_yuan"):
                report.error(s.pos, "incentive_violation_costs_nothing", violation=s.get("id"))
        return _replace(
            plan,
            violations=tuple(
                m.Violation(
                    s.get("id"),
                    s.get("name", s.get("id")),
                    s.get("kpi_points", Decimal(0)),
                    s.get("fine_yuan", Decimal(0)),
                )
                for s in (i.value for i in spec.items("violations"))
            ),
        )
    if kind == "referral":
        r = spec.get("rewards")
        if r is None:
            return plan
        return _replace(
            plan,
            referral=m.ReferralTerms(
                customer_points=r.get("customer_points", 0),
                customer_gift=r.get("customer_gift"),
                employee_yuan=r.get("employee_yuan", Decimal(0)),
                lead_converted_yuan=r.get("lead_converted_yuan", Decimal(0)),
                fabricated_fine_yuan=r.get("fabricated_fine_yuan", Decimal(0)),
                excluded_roles=tuple(i.value for i in r.items("excluded_roles")),
                requires_approval=r.get("requires_approval", True),
                requires_yellow_card=r.get("requires_yellow_card", False),
                first_visit_only=r.get("first_visit_only", False),
            ),
        )
    if kind == "key_account":
        info, contrib = spec.get("information"), spec.get("contribution")
        if info is None or contrib is None:
            return plan
        if info.get("monthly_customers", 0) < info.get("weekly_customers", 0):
            report.error(info.at("monthly_customers"), "incentive_monthly_below_weekly")
        if contrib.get("min_share", Decimal(0)) > HUNDRED:
            report.error(contrib.at("min_share"), "incentive_min_share_above_100")
        return _replace(
            plan,
            key_account=m.KeyAccountTerms(
                info.get("points"),
                info.get("weekly_customers"),
                info.get("monthly_customers"),
                contrib.get("points"),
                contrib.get("min_share"),
                spec.get("pro_rata", True),
            ),
        )
    if kind == "commission_split":
        return _replace(plan, split=_split(spec, report))
    return plan


def _replace(plan: m.IncentivePlan, **changes) -> m.IncentivePlan:
    from dataclasses import replace

    return replace(plan, **changes)


def _valid(spec: Spec, report: Report) -> Window:
    valid = spec.get("valid")
    if valid is None:
        return Window()
    start, end = valid.get("from"), valid.get("to")
    if start is None:
        report.error(valid.pos, "incentive_valid_needs_from")
    if start is not None and end is not None and end < start:
        report.error(valid.at("to"), "incentive_valid_reversed", start=start, end=end)
    return Window(start, end)


# --- order plans ------------------------------------------------------------------------------


def _orders(spec: Spec, report: Report) -> tuple[m.OrderRule, ...]:
    unique(spec.items("orders"), "id", "order rule", report)
    rules, by_business = [], {}
    for item in spec.items("orders"):
        s: Spec = item.value
        business = s.get("business")
        if business in by_business:
            first = by_business[business]
            report.error(
                s.at("business"),
                "incentive_business_has_rule",
                business=business,
                rule=first.get("id"),
                line=first.pos.line,
                column=first.pos.column,
            )
        elif business is not None:
            by_business[business] = s
        units = s.get("units")
        rules.append(
            m.OrderRule(
                id=s.get("id", ""),
                name=s.get("name", s.get("id", "")),
                business=business or "",
                measure=units.get("measure") if units else None,
                expiring_units=units.get("expiring", Decimal(0)) if units else Decimal(0),
                non_expiring_units=units.get("non_expiring", Decimal(0)) if units else Decimal(0),
                kpi_only=units.get("kpi_only", False) if units else False,
                cash=_cash(s, report),
                exclusions=_exclusions(s, report),
                roles=tuple(i.value for i in s.items("roles")) or None,
                unit_roles=tuple(i.value for i in units.items("roles")) or None if units else None,
            )
        )
        if units is None and not s.items("cash"):
            report.warning(s.pos, "incentive_rule_pays_nothing", rule=s.get("id"))
    return tuple(rules)


def _cash(rule: Spec, report: Report) -> tuple[m.CashSchedule, ...]:
    schedules, named = [], {}
    rows = rule.items("cash")
    for index, item in enumerate(rows):
        row: Spec = item.value
        roles = [i for i in row.items("roles")]
        if any(r.value == OTHER for r in roles):
            if len(roles) > 1:
                report.error(row.at("roles"), "incentive_other_not_alone")
            if index != len(rows) - 1:
                report.error(row.at("roles"), "incentive_other_not_last")
        for r in roles:
            if r.value != OTHER and r.value in named:
                report.error(
                    r.pos,
                    "incentive_role_has_cash_row",
                    role=r.value,
                    line=named[r.value].line,
                    column=named[r.value].column,
                )
            named.setdefault(r.value, r.pos)
        tiers, last_upto = [], 0
        items = row.items("tiers")
        for t_index, t in enumerate(items):
            tier: Spec = t.value
            upto = tier.get("upto")
            if upto is None and t_index != len(items) - 1:
                report.error(tier.pos, "incentive_open_tier_not_last")
            if upto is not None and upto <= last_upto:
                report.error(tier.at("upto"), "incentive_tier_not_increasing", upto=upto, previous=last_upto)
            if upto is not None:
                last_upto = max(last_upto, upto)
            tiers.append(m.CashTier(upto, tier.get("yuan", Decimal(0))))
        if tiers and tiers[-1].upto is not None:
            report.error(row.at("tiers"), "incentive_tiers_leave_households", upto=tiers[-1].upto)
        names = tuple(r.value for r in roles)
        schedules.append(m.CashSchedule(None if names == (OTHER,) else names, tuple(tiers)))
    return tuple(schedules)


def _exclusions(rule: Spec, report: Report) -> tuple[m.Exclusion, ...]:
    unique(rule.items("exclude"), "id", "exclusion", report)
    found = []
    for item in rule.items("exclude"):
        s: Spec = item.value
        unless = "unless" in s.fields
        node = s.get("unless") if unless else s.get("if")
        if node is None:
            continue
        found.append(m.Exclusion(s.get("id", ""), s.get("reason", ""), _conditions(node, report), unless))
    return tuple(found)


def _conditions(node: Mapping, report: Report) -> tuple[m.Condition, ...]:
    out = []
    if not node.entries:
        report.error(node.pos, "incentive_condition_empty")
    for entry in node.entries:
        field = entry.key
        kind = m.CONDITION_FIELDS.get(field) if isinstance(field, str) else None
        if kind is None:
            code, hint = suggested("incentive_unknown_condition_field", field, m.CONDITION_FIELDS)
            report.error(entry.key_pos, code, field=field, known=list(m.CONDITION_FIELDS), **hint)
            continue
        nodes = entry.value.items if isinstance(entry.value, Sequence) else (entry.value,)
        values = []
        for n in nodes:
            try:
                values.append(_condition_value(field, kind, n))
            except BadValue as exc:
                bad_value(report, n.pos, field, exc)
        if values:
            out.append(m.Condition(field, tuple(values)))
    return tuple(out)


def _condition_value(field: str, kind: str, node) -> object:
    raw = node.value if isinstance(node, Scalar) else node
    if kind == "bool":
        if not isinstance(raw, bool):
            raise BadValue("plan_expected_type", expected="boolean", **got(raw))
        return raw
    if kind == "decimal":
        return decimal(raw)
    choices = m.CARDS if field == "card" else m.NETWORKS
    text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if text not in choices:
        close = suggestion(text, choices)
        if close:
            raise BadValue("incentive_expected_one_of_suggest", options=list(choices), suggestion=close, **got(raw))
        raise BadValue("plan_expected_one_of", options=list(choices), **got(raw))
    return text


# --- scorecards -------------------------------------------------------------------------------


def _weights(spec: Spec, key: str, bonus: bool, report: Report) -> list[m.Metric]:
    node = spec.get(key)
    if node is None:
        return []
    out = []
    for entry in node.entries:
        if not isinstance(entry.key, str):
            report.error(entry.key_pos, "incentive_metric_id_not_text", key=key, **got(entry.key))
            continue
        raw = entry.value.value if isinstance(entry.value, Scalar) else entry.value
        try:
            out.append(m.Metric(entry.key, percent(raw), bonus))
        except BadValue as exc:
            bad_value(report, entry.value.pos, entry.key, exc)
    return out


def _scorecard(spec: Spec, report: Report) -> m.Scorecard:
    metrics = _weights(spec, "weights", False, report)
    extra = _weights(spec, "bonus_weights", True, report)
    for metric in extra:
        if any(w.id == metric.id for w in metrics):
            report.error(spec.at("bonus_weights"), "incentive_metric_in_both_weights", metric=metric.id)
    written = spec.get("weights")
    if metrics and len(metrics) == len(written.entries):  # a weight that did not read is reported already
        total = sum((w.weight for w in metrics), Decimal(0))
        if total != HUNDRED:
            parts = " + ".join(f"{w.id} {_pct(w.weight)}" for w in metrics)
            code = "incentive_weights_over_100" if total > HUNDRED else "incentive_weights_under_100"
            report.error(spec.key_at("weights"), code, total=_pct(total), parts=parts)
    scale = spec.get("scale", HUNDRED)
    bands = _bands(spec, scale, report)
    grades = {b.grade for b in bands}
    bonus = _bonus_rows(spec, grades, report)
    found = plan_workflow.from_records(spec, {w.id for w in metrics + extra}, report)
    return m.Scorecard(scale, tuple(metrics + extra), bands, bonus, _awards(spec, report), found)


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _bands(spec: Spec, scale: Decimal, report: Report) -> tuple[m.Band, ...]:
    items = spec.items("grades")
    unique(items, "id", "grade", report)
    raw = []
    for item in items:
        s: Spec = item.value
        lows = [k for k in ("min", "above") if k in s.fields]
        highs = [k for k in ("max", "below") if k in s.fields]
        if not lows and not highs:
            report.error(s.pos, "incentive_grade_needs_bound", grade=s.get("id"))
            continue
        if len(lows) > 1 or len(highs) > 1:
            report.error(s.pos, "incentive_grade_two_bounds", grade=s.get("id"))
            continue
        for k in lows + highs:
            if s.get(k) > scale:
                report.error(s.at(k), "incentive_bound_above_scale", bound=k, value=s.get(k), scale=scale)
        low = s.get(lows[0]) if lows else None
        high = s.get(highs[0]) if highs else None
        if (
            low is not None
            and high is not None
            and (high < low or (high == low and (lows[0] == "above" or highs[0] == "below")))
        ):
            report.error(s.pos, "incentive_grade_empty", grade=s.get("id"))
            continue
        raw.append(
            (s, m.Band(s.get("id", ""), s.get("name", s.get("id", "")), low, lows == ["min"], high, highs == ["max"]))
        )
    if not raw:
        return ()
    # A band with only a lower bound runs up to the next band's lower bound ("≥7 good" under "≥9 excellent").
    lows = sorted({(b.low, not b.low_closed) for _, b in raw if b.low is not None})
    bands = []
    for s, b in raw:
        if b.high is None:
            above = (
                [(low, opened) for low, opened in lows if (low, opened) > (b.low, not b.low_closed)]
                if b.low is not None
                else []
            )
            if above:
                b = m.Band(b.grade, b.name, b.low, b.low_closed, above[0][0], above[0][1])
            else:
                b = m.Band(b.grade, b.name, b.low, b.low_closed, scale, True)
        if b.low is None:
            b = m.Band(b.grade, b.name, Decimal(0), True, b.high, b.high_closed)
        bands.append((s, b))
    _coverage(spec.key_at("grades"), bands, scale, report)
    return tuple(b for _, b in bands)


def _coverage(pos: Pos, bands, scale: Decimal, report: Report) -> None:
    """Every score from 0 to the scale falls in exactly one band."""
    ordered = sorted(bands, key=lambda sb: (sb[1].low, not sb[1].low_closed))
    point, covered, last = Decimal(0), False, None
    for s, b in ordered:
        if b.low > point or (b.low == point and not b.low_closed and not covered):
            after = f" (after grade '{last.grade}' {last.describe()})" if last else ""
            report.error(
                pos,
                "incentive_grade_gap",
                gap_from="above" if covered else "from",
                low=_num(point),
                gap_to="below" if b.low_closed else "up to",
                high=_num(b.low),
                after=after,
                grade=b.grade,
                band=b.describe(),
            )
        elif last is not None and (b.low < point or (b.low == point and b.low_closed and covered)):
            report.error(
                s.pos,
                "incentive_grade_overlap",
                grade=b.grade,
                band=b.describe(),
                other=last.grade,
                other_band=last.describe(),
            )
        if b.high > point or (b.high == point and b.high_closed and not covered):
            point, covered, last = b.high, b.high_closed, b
    if point < scale or (point == scale and not covered):
        report.error(
            pos,
            "incentive_grade_gap_at_top",
            gap_from="above" if covered else "from",
            low=_num(point),
            scale=_num(scale),
        )


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _bonus_rows(spec: Spec, grades: set[str], report: Report) -> tuple[m.BonusRow, ...]:
    rows, named = [], {}
    items = spec.items("bonus_yuan")
    for index, item in enumerate(items):
        s: Spec = item.value
        roles = [r for r in s.items("roles")]
        names = tuple(r.value for r in roles)
        if OTHER in names and (len(names) > 1 or index != len(items) - 1):
            report.error(s.at("roles"), "incentive_bonus_other_not_alone")
        for r in roles:
            if r.value != OTHER and r.value in named:
                report.error(
                    r.pos,
                    "incentive_role_has_bonus_row",
                    role=r.value,
                    line=named[r.value].line,
                    column=named[r.value].column,
                )
            named.setdefault(r.value, r.pos)
        yuan = {}
        node = s.get("yuan")
        if node is not None:
            for entry in node.entries:
                if entry.key not in grades:
                    code, hint = suggested("incentive_unknown_grade", entry.key, sorted(grades))
                    report.error(entry.key_pos, code, grade=entry.key, **hint)
                    continue
                raw = entry.value.value if isinstance(entry.value, Scalar) else entry.value
                try:
                    amount = decimal(raw)
                    if amount < 0:
                        raise BadValue("plan_negative", value=amount)
                    yuan[entry.key] = amount
                except BadValue as exc:
                    bad_value(report, entry.value.pos, entry.key, exc)
            missing = [g for g in sorted(grades) if g not in yuan and not any(e.key == g for e in node.entries)]
            if missing:
                report.error(s.at("yuan"), "incentive_grades_without_bonus", grades=missing)
        rows.append(m.BonusRow(None if names == (OTHER,) else names, yuan))
    return tuple(rows)


def _awards(spec: Spec, report: Report) -> m.Awards:
    s = spec.get("awards")
    if s is None:
        return m.Awards()
    unique(s.items("ranks"), "id", "award", report)
    ranks, last = [], Decimal(0)
    for item in s.items("ranks"):
        r: Spec = item.value
        top = r.get("top")
        if top is not None and (top <= last or top > HUNDRED):
            report.error(r.at("top"), "incentive_rank_top_order", top=_pct(top), previous=_pct(last))
        last = max(last, top or last)
        ranks.append(
            m.RankAward(r.get("id", ""), r.get("name", r.get("id", "")), top or Decimal(0), r.get("yuan", Decimal(0)))
        )

    def award(key):
        a = s.get(key)
        return m.Award(a.get("id", ""), a.get("name", a.get("id", "")), a.get("yuan", Decimal(0))) if a else None

    return m.Awards(tuple(ranks), award("improvement"), award("rest"), s.get("teams", False))


# --- commission split -------------------------------------------------------------------------


def _split(spec: Spec, report: Report) -> m.SplitTerms:
    unique(spec.items("cards"), "id", "card", report)
    cards = tuple(
        m.CardRule(s.get("id", ""), s.get("name", s.get("id", "")), s.get("level", 1), s.get("other_shift", ""))
        for s in (i.value for i in spec.items("cards"))
    )
    known = {c.card for c in cards}
    for item in spec.items("intern_cards"):
        if item.value not in known:
            report.error(item.pos, "incentive_unknown_intern_card", card=item.value, cards=sorted(known))
    both = spec.get("both_shifts")
    shifts = {k: both.get(k) for k in ("stored_value", "timed") if both is not None and both.get(k)}
    return m.SplitTerms(cards, tuple(i.value for i in spec.items("intern_cards")), shifts, spec.get("commission_rate"))
