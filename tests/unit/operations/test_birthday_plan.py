"""What a birthday brings per the operations plan, and which birthdays a day keeps (solar or lunar, 闰月, a 30th
in a 29-day month). Seed 002 (会员管理方案): "生日福利为会员提供生日福利,例如生日优惠券、生日礼品等。"; seed 002
(维系方案): "2.生日关怀除承接miboss派单外,客户经理需在关怀过程中对生日日期错误得客户重新进行资料录入"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from weixi.operations import care
from weixi.operations.birthday_plan import BirthdayGift, gift_case_sql
from weixi.operations.plan import load_operations_plan, load_operations_text

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "src" / "weixi" / "data" / "operations.yaml"


def _plan(gifts: str):
    text = SHIPPED.read_text(encoding="utf-8")
    head, _, rest = text.partition("  birthday:\n")
    rest = rest[rest.index('  # "除春节') :]
    return load_operations_text(
        head + "  birthday:\n    template: birthday\n    lunar: true\n    gifts:\n" + gifts + rest, "ops.yaml"
    )


def test_the_shipped_plan_gives_birthday_points_by_tier():
    plan, diagnostics = load_operations_plan(SHIPPED)
    assert plan is not None, [d.format() for d in diagnostics]
    gifts = {g.tiers: g for g in plan.care.birthday_gifts}
    assert gifts[("diamond",)].points == 500 and gifts[("gold",)].points == 300 and gifts[("silver",)].points == 100
    assert plan.care.lunar_birthdays and plan.care.birthday_template == "birthday"


def test_birthday_gifts_give_points_a_coupon_or_a_gift_per_tier_or_star_level():
    # "例如生日优惠券、生日礼品等": a coupon and a gift are rewards of the points plan's catalogue.
    plan, diagnostics = _plan(
        "      - {tiers: [diamond], points: 500, gift: cake}\n"
        "      - {star_levels: [6, 7], coupon: coupon-5}\n"
        "      - {points: 50}\n"
    )
    assert plan is not None, [d.format() for d in diagnostics]
    diamond, stars, rest = plan.care.birthday_gifts
    assert diamond == BirthdayGift(("diamond",), (), 500, None, "cake")
    assert stars.rewards() == (("coupon", "coupon-5"),) and stars.star_levels == (6, 7)
    assert rest.tiers == () and rest.points == 50
    case = gift_case_sql(plan.care.birthday_gifts)
    assert case.index("tier IN ('diamond')") < case.index("IN (6, 7)") < case.index("WHEN TRUE THEN 2")


def test_a_gift_that_gives_nothing_or_a_tier_twice_is_refused_with_its_line():
    plan, diagnostics = _plan("      - {tiers: [gold]}\n      - {tiers: [gold, silver], points: 10}\n")
    assert plan is None
    codes = {d.code: d for d in diagnostics}
    assert set(codes) == {"ops_plan_birthday_gift_empty", "ops_plan_birthday_segment_twice"}
    assert codes["ops_plan_birthday_segment_twice"].params == {"segment": "gold"}
    plan, diagnostics = _plan("      - {tiers: [gold], points: -5}\n")
    assert plan is None and diagnostics


def test_a_lunar_birthday_counts_once_per_lunar_year():
    # 2026-01-10 is 冬月廿二 of lunar year 2025; 2026-10-01 is 八月廿一 of lunar 2026.
    assert care.birthday_year(date(2026, 1, 10), lunar_birthday=True) == 2025
    assert care.birthday_year(date(2026, 1, 10), lunar_birthday=False) == 2026
    assert care.birthday_year(date(2026, 10, 1), lunar_birthday=True) == 2026


def test_a_leap_month_birthday_is_kept_once_in_the_leap_month_when_the_year_has_one():
    # 2023 has 闰二月 (2023-03-22 is 闰二月初一); 2024 has none.
    assert care.lunar_of(date(2023, 3, 22)) == (2, 1, True)
    in_2023_second_month = care.lunar_birthday_texts(date(2023, 2, 20))  # 二月初一
    assert "农历二月初一" in in_2023_second_month and "农历闰二月初一" not in in_2023_second_month
    in_2023_leap_month = care.lunar_birthday_texts(date(2023, 3, 22))  # 闰二月初一
    assert "农历闰二月初一" in in_2023_leap_month and "农历二月初一" not in in_2023_leap_month
    in_2024 = care.lunar_birthday_texts(date(2024, 3, 10))  # 二月初一, no leap month this year
    assert {"农历二月初一", "农历闰二月初一", "二月初一", "闰二月初一"} <= set(in_2024)


def test_a_30th_in_a_29_day_month_is_kept_on_the_29th():
    # 2026-02-16 is 腊月廿九, the last day of a 29-day month: those born on 腊月三十 keep it then.
    assert care.lunar_of(date(2026, 2, 16)) == (12, 29, False)
    texts = care.lunar_birthday_texts(date(2026, 2, 16))
    assert "农历腊月廿九" in texts and "农历腊月三十" in texts
    assert "农历腊月三十" not in care.lunar_birthday_texts(date(2026, 2, 15))


def test_a_solar_29_february_birthday_is_kept_on_28_february():
    assert care.solar_birthday_days(date(2026, 2, 28)) == [(2, 28), (2, 29)]
    assert care.solar_birthday_days(date(2028, 2, 28)) == [(2, 28)]
    filters = care.birthday_filters(True, date(2026, 10, 1))
    assert [f[0] for f in filters] == ["birthday", "lunar-birthday"]
    assert "coalesce(lunar_birthday, '') = ''" in filters[0][2] and "'农历八月廿一'" in filters[1][2]
