"""Contact policy rules, the care calendar's birthdays, and the outcome taxonomy (domain only, no I/O)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from weixi.members import lunar
from weixi.operations import care, outcomes, policy
from weixi.operations.plan import load_operations_plan

TZ = ZoneInfo("Asia/Shanghai")
PLAN, _ = load_operations_plan(Path(__file__).resolve().parents[3] / "plans" / "examples" / "retention-operations.yaml")


def c(kind, channel, purpose, day, source="SMS reply TD"):
    return policy.Consent("M1", kind, channel, purpose, source, datetime(2026, 9, day, 10, 0, tzinfo=TZ))


def test_opt_out_stops_its_purpose_on_its_channel_and_names_source_and_time():
    recs = [c("opt_out", "sms", "marketing", 3)]
    block = policy.consent_block(recs, "sms", "marketing")
    assert block.rule == "opt_out" and "SMS reply TD" in block.detail and "2026-09-03T10:00" in block.detail
    assert policy.consent_block(recs, "call", "marketing") is None
    assert policy.consent_block(recs, "sms", "service") is None


def test_dnd_stops_everything_and_a_later_opt_in_clears_it():
    recs = [c("dnd", "all", "all", 3, "hotline")]
    assert policy.consent_block(recs, "call", "service").rule == "dnd"
    recs.append(c("opt_in", "all", "all", 5, "store form"))
    assert policy.consent_block(recs, "call", "marketing") is None


def test_quiet_hours_wrap_midnight():
    assert policy.in_quiet_hours(PLAN, datetime(2026, 9, 1, 22, 0, tzinfo=TZ))
    assert policy.in_quiet_hours(PLAN, datetime(2026, 9, 1, 7, 59, tzinfo=TZ))
    assert not policy.in_quiet_hours(PLAN, datetime(2026, 9, 1, 8, 0, tzinfo=TZ))
    assert policy.quiet_end(PLAN, datetime(2026, 9, 1, 22, 0, tzinfo=TZ)) == datetime(2026, 9, 2, 8, 0, tzinfo=TZ)


def test_frequency_cap_counts_the_period_of_the_due_date():
    week = policy.period_start(date(2026, 9, 10), "week")
    assert week == date(2026, 9, 7)
    assert policy.cap_block(PLAN, "call", "marketing", date(2026, 9, 10), {("calls-per-week", week): 1}) is None
    block = policy.cap_block(PLAN, "call", "marketing", date(2026, 9, 10), {("calls-per-week", week): 2})
    assert block.rule == "calls-per-week" and "at most 2 a week" in block.detail


def test_lunar_birthday_is_kept_on_its_lunar_day_including_a_leap_month_born():
    day = date(2026, 2, 17)  # 正月初一 2026
    assert care.lunar_of(day) == (1, 1, False)
    texts = care.lunar_birthday_texts(day)
    assert "农历正月初一" in texts and "正月初一" in texts and "农历闰正月初一" in texts
    assert lunar.spring_festival(2026) == day


def test_february_29_birthdays_are_kept_on_the_28th_in_other_years():
    assert (2, 29) in care.solar_birthday_days(date(2026, 2, 28))
    assert care.solar_birthday_days(date(2028, 2, 28)) == [(2, 28)]


def test_holidays_central_and_local_follow_the_seed():
    occ = care.occasions(PLAN, date(2026, 10, 1))
    assert [(o.id, o.scope) for o in occ] == [("national_day", "central")]
    assert care.occasions(PLAN, date(2026, 6, 19))[0].scope == "local"  # Dragon Boat: sent locally


def test_churn_reason_taxonomy_has_the_seed_reasons_and_scripts():
    for code in (
        "roaming_call_forwarding",
        "spam_sms",
        "contract_rebate_withheld",
        "moved_away",
        "competitor_offer",
        "price",
    ):
        assert code in outcomes.REASONS
    assert "0.07元/6秒" in outcomes.SCRIPTS["roaming_call_forwarding"]


@pytest.mark.parametrize(
    "outcome, message",
    [
        (outcomes.Outcome("declined"), "declined needs --reason"),
        (outcomes.Outcome("declined", "cheaper"), "unknown reason 'cheaper'"),
        (outcomes.Outcome("declined", "other"), "needs --note"),
        (outcomes.Outcome("accepted"), "accepted needs the offer"),
        (outcomes.Outcome("maybe"), "unknown outcome 'maybe'"),
    ],
)
def test_bad_outcomes_are_refused_with_what_to_do(outcome, message):
    with pytest.raises(outcomes.OutcomeError, match=message):
        outcomes.check(outcome)
