"""Resolve the ``segments`` section (star levels, value pyramid, activity, RFM, key accounts); no I/O."""

from __future__ import annotations

from decimal import Decimal

from weixi.plans import checks
from weixi.plans.diagnostics import Report
from weixi.plans.model import (
    ActivityGrades,
    ActivityRule,
    KeyAccount,
    KeyAccounts,
    Rfm,
    Segments,
    StarLevels,
    StarRow,
    ValuePyramid,
)
from weixi.plans.spec import Spec

MIN_STAR, MAX_STAR = 1, 7
CUT_DECIMALS = 4  # shares are compared in integers: cumulative fen x 10^4 against total x cut x 10^4


def resolve_segments(spec: Spec | None, report: Report) -> Segments | None:
    if spec is None:
        return None
    return Segments(
        star_levels=_optional(spec.get("star_levels"), _star_levels, report),
        value_pyramid=_optional(spec.get("value_pyramid"), _value_pyramid, report),
        activity=_optional(spec.get("activity"), _activity, report),
        rfm=_optional(spec.get("rfm"), _rfm, report),
        key_accounts=_optional(spec.get("key_accounts"), _key_accounts, report),
    )


def _optional(spec: Spec | None, resolver, report: Report):
    return None if spec is None else resolver(spec, report)


# --- 星级 1-7 from ARPU x tenure ------------------------------------------------------------------------


def _star_levels(spec: Spec, report: Report) -> StarLevels:
    columns = spec.items("tenure_years")
    for key in ("tenure_years", "table"):
        if key in spec.fields and not spec.items(key):
            report.error(spec.at(key), "plan_needs_entry", key=key)
    _ascending(columns, "tenure_years", "plan_tenure_first_not_zero", report)
    rows, shaped = [], True
    arpus = tuple(item.value.fields["arpu_yuan"] for item in spec.items("table") if "arpu_yuan" in item.value.fields)
    _ascending(arpus, "arpu_yuan_rows", "plan_arpu_first_not_zero", report)
    for item in spec.items("table"):
        row = item.value
        stars = tuple(star.value for star in row.items("stars"))
        for star in row.items("stars"):
            if not MIN_STAR <= star.value <= MAX_STAR:
                report.error(star.pos, "plan_star_out_of_range", low=MIN_STAR, high=MAX_STAR, value=star.value)
        if "stars" in row.fields and columns and len(stars) != len(columns):
            shaped = False
            report.error(row.at("stars"), "plan_star_row_width", n=len(stars), columns=len(columns))
        arpu = row.get("arpu_yuan")
        if arpu is not None and arpu != arpu.quantize(Decimal("0.01")):
            report.error(row.at("arpu_yuan"), "plan_not_whole_fen", key="arpu_yuan", yuan=arpu)
        if arpu is not None:
            rows.append((row, StarRow(arpu_fen=int(arpu * 100), stars=stars)))
    if shaped:
        _monotonic(rows, report)
    return StarLevels(
        tenure_years=tuple(c.value for c in columns),
        rows=tuple(row for _, row in rows),
        arpu_months=spec.get("arpu_months", 3),
    )


def _ascending(items, what: str, first_zero: str, report: Report) -> None:
    """``what``: a ``what.<name>`` of the catalogue; ``first_zero``: the code when the first value is not 0."""
    if items and items[0].value != 0:
        report.error(items[0].pos, first_zero)
    for before, item in zip(items, items[1:]):
        if item.value <= before.value:
            report.error(item.pos, "plan_not_ascending", what=what, value=item.value, before=before.value)


def _monotonic(rows: list[tuple[Spec, StarRow]], report: Report) -> None:
    """Warn when more ARPU or a longer tenure gives fewer stars (probably a typo in the table)."""
    for index, (spec, row) in enumerate(rows):
        left = any(a > b for a, b in zip(row.stars, row.stars[1:]))
        up = index > 0 and any(a > b for a, b in zip(rows[index - 1][1].stars, row.stars))
        if left or up:
            reason = "longer_tenure" if left else "higher_arpu"
            report.warning(spec.at("stars"), "plan_stars_go_down", reason=reason)


# --- value pyramid A/B/C/D ---------------------------------------------------------------------------


def _value_pyramid(spec: Spec, report: Report) -> ValuePyramid:
    cuts_spec: Spec | None = spec.get("cuts")
    cuts: list[tuple[str, Decimal]] = []
    if cuts_spec is not None:
        for grade in ("A", "B", "C"):
            share = cuts_spec.get(grade)
            if share is None:
                continue
            pos = cuts_spec.at(grade)
            if share >= 1:
                report.error(pos, "plan_cut_not_share", grade=grade, share=share)
            elif share != share.quantize(Decimal(1).scaleb(-CUT_DECIMALS)):
                report.error(pos, "plan_cut_decimals", grade=grade, n=CUT_DECIMALS, share=share)
            if cuts and share <= cuts[-1][1]:
                report.error(
                    pos,
                    "plan_cuts_not_increasing",
                    grade=grade,
                    share=share,
                    before_grade=cuts[-1][0],
                    before=cuts[-1][1],
                )
            cuts.append((grade, share))
    return ValuePyramid(cuts=tuple(cuts), window_months=spec.get("window_months", 12))


# --- activity grades and RFM -------------------------------------------------------------------------


def _activity(spec: Spec, report: Report) -> ActivityGrades:
    grades = {}
    for grade in ("active", "normal"):
        rule: Spec | None = spec.get(grade)
        if rule is None:
            grades[grade] = ActivityRule()
            continue
        if not rule.present:  # a mapping with only unknown keys has had those reported
            report.error(rule.pos, "plan_activity_grade_empty", grade=grade)
        grades[grade] = ActivityRule(max_days_since=rule.get("max_days_since"), min_touches=rule.get("min_touches"))
    return ActivityGrades(active=grades["active"], normal=grades["normal"], window_months=spec.get("window_months", 3))


def _rfm(spec: Spec, report: Report) -> Rfm:
    return Rfm(window_months=spec.get("window_months", 12), bins=spec.get("bins", 5))


# --- key accounts -----------------------------------------------------------------------------------


def _key_accounts(spec: Spec, report: Report) -> KeyAccounts:
    items = spec.items("levels")
    window = spec.get("window_months", 12)
    if "levels" in spec.fields and not items:
        report.error(spec.at("levels"), "plan_key_accounts_no_levels")
    by_id = checks.unique(items, "id", "key account id", report)
    levels, catch_all = [], None
    for level in (item.value for item in items):
        if catch_all is not None:
            report.warning(level.pos, "plan_key_account_unreachable", level=level.get("id"), before=catch_all)
        months = level.get("min_active_months")
        if months is not None and months > window:
            report.error(
                level.at("min_active_months"),
                "plan_key_account_months",
                months=months,
                window=window,
                level=level.get("id"),
            )
        if not {"min_spend_yuan", "min_active_months", "min_tenure_years"} & level.present and catch_all is None:
            catch_all = level.get("id")
        if by_id.get(level.get("id")) is level:
            spend = checks.whole_fen(level, "min_spend_yuan", report) if "min_spend_yuan" in level.fields else None
            levels.append(
                KeyAccount(
                    id=level.get("id"),
                    name=level.get("name", ""),
                    min_spend_fen=spend,
                    min_active_months=months,
                    min_tenure_years=level.get("min_tenure_years"),
                )
            )
    return KeyAccounts(levels=tuple(levels), window_months=window)
