"""One test per error category: exact position and the gist of the message."""

from __future__ import annotations

import pytest

from weixi.plans.loader import load_plan_text

from .helpers import HEAD, at, errors, load, one_error


def test_yaml_syntax_error_is_a_diagnostic_at_its_position():
    plan, found = load_plan_text("plan: p\nname: [P\nexpiry: never\n", "bad.yaml")
    assert plan is None
    assert len(found) == 1
    assert found[0].severity == "error"
    assert found[0].message.startswith("invalid YAML")
    assert found[0].line == 3


def test_duplicate_yaml_key_is_a_syntax_error_naming_the_first():
    plan, found = load_plan_text("plan: p\nname: P\nname: Q\n", "dup.yaml")
    assert plan is None
    assert (found[0].line, found[0].column) == (3, 1)
    assert 'duplicate key "name"' in found[0].message


def test_empty_file():
    plan, found = load_plan_text("", "empty.yaml")
    assert plan is None
    assert at(found[0]) == (1, 1)
    assert "empty" in found[0].message


def test_root_must_be_a_mapping():
    plan, found = load_plan_text("- plan: p\n", "list.yaml")
    assert plan is None
    assert "mapping" in found[0].message


def test_unknown_key_with_did_you_mean():
    err = one_error("""\
        earning:
          - id: bill
            type: spend
            per_yaun: 10
        """)
    assert at(err) == (7, 5)
    assert "unknown key 'per_yaun'" in err.message
    assert "did you mean 'per_yuan'" in err.message


def test_unknown_top_level_key():
    err = one_error("earnings: []\n")
    assert at(err) == (4, 1)
    assert "did you mean 'earning'" in err.message


def test_key_of_another_rule_type():
    err = one_error("""\
        earning:
          - {id: bill, type: spend, multiplier: 2}
        """)
    assert at(err) == (5, 29)
    assert "does not apply to a spend earning rule" in err.message
    assert "first_purchase" in err.message


@pytest.mark.parametrize(
    "value, expected",
    [
        ("ten", "expected a whole number, got text 'ten'"),
        ("true", "expected a whole number, got true (a boolean)"),
        ("2.5", "expected a whole number, got the number 2.5"),
        ('"10"', "expected a whole number, got text '10'"),
    ],
)
def test_wrong_type_where_points_are_expected(value, expected):
    err = one_error(f"""\
        earning:
          - id: signup
            type: signup
            points: {value}
        """)
    assert at(err) == (7, 13)
    assert err.message == f"points: {expected}"


def test_text_where_a_decimal_is_expected():
    err = one_error("cost_per_point: one fen\n")
    assert at(err) == (4, 17)
    assert "expected a number, got text 'one fen'" in err.message


def test_number_where_text_is_expected():
    err = one_error("description: 42\n")
    assert "expected text, got the number 42" in err.message


def test_bool_where_text_is_expected_and_text_where_bool():
    found = errors("description: yes please\nregistration_required: yes\n")
    # YAML 1.2: 'yes' is text, so registration_required is wrong
    assert len(found) == 1
    assert at(found[0]) == (5, 24)
    assert "expected true or false, got text 'yes'" in found[0].message


@pytest.mark.parametrize(
    "value, column, expected",
    [
        ("2026-02-30", 20, "bad date '2026-02-30': day is out of range for month"),
        ('"2026/13/01"', 20, "bad date '2026/13/01': expected YYYY-MM-DD"),
        ("20260301", 20, "expected a date YYYY-MM-DD, got the number 20260301"),
    ],
)
def test_bad_dates(value, column, expected):
    err = one_error(f"""\
        earning:
          - id: bill
            type: spend
            window: {{from: {value}}}
        """)
    assert at(err) == (7, column)
    assert expected in err.message


@pytest.mark.parametrize(
    "body, position, expected",
    [
        (
            "earning:\n  - {id: a, type: signup, points: -5}\n",
            (5, 35),
            "points: must be a positive whole number, got -5",
        ),
        ("earning:\n  - {id: a, type: spend, per_yuan: 0}\n", (5, 36), "per_yuan: must be greater than zero, got 0"),
        (
            'earning:\n  - {id: a, type: spend, points: "-1.5"}\n',
            (5, 34),
            "points: must be greater than zero, got -1.5",
        ),
        (
            "rewards:\n  - {id: g, type: gift, name: G, cost: 0}\n",
            (5, 40),
            "cost: must be a positive whole number, got 0",
        ),
        ('cost_per_point: "-0.01"\n', (4, 17), "cost_per_point: must be greater than zero, got -0.01"),
        ("tiers:\n  - {id: t, name: T, rank: 0, multiplier: 0}\n", (5, 43), "multiplier: must be greater than zero"),
        ("caps:\n  - {id: c, per: day, max: -1}\n", (5, 28), "max: must be a positive whole number, got -1"),
        (
            "rewards:\n  - id: m\n    type: merchant\n    name: M\n    cost: 1\n"
            "    merchants: [{id: a, name: A, settle_yuan_per_point: 0}]\n",
            (9, 57),
            "settle_yuan_per_point: must be greater than zero",
        ),
    ],
)
def test_negative_or_zero_values(body, position, expected):
    err = one_error(body)
    assert at(err) == position
    assert expected in err.message


def test_unknown_tier_in_reward_and_audience():
    found = errors("""\
        tiers:
          - {id: gold, name: 金卡, rank: 1}
        earning:
          - {id: bill, type: spend}
          - id: double
            type: campaign
            multiplier: 2
            window: {from: 2026-01-01, to: 2026-01-31}
            audience: {tiers: [glod]}
        rewards:
          - {id: g, type: gift, name: G, cost: 10, tiers: [gold, silver]}
        """)
    assert [(at(d), d.message) for d in found] == [
        ((12, 24), "unknown tier 'glod'; did you mean 'gold'?"),
        ((14, 58), "unknown tier 'silver'"),
    ]


def test_unknown_rule_ids_in_applies_to_and_cap_rules():
    found = errors("""\
        earning:
          - {id: bill, type: spend}
          - {id: first, type: first_purchase, multiplier: 2, applies_to: [bil]}
        caps:
          - {id: daily, per: day, max: 100, rules: [bill, survey]}
        """)
    assert [(at(d), d.message) for d in found] == [
        ((6, 67), "unknown rule id 'bil'; did you mean 'bill'?"),
        ((8, 51), "unknown rule id 'survey'"),
    ]


def test_applies_to_may_not_name_a_multiplier_rule():
    err = one_error("""\
        earning:
          - {id: bill, type: spend}
          - {id: first, type: first_purchase, multiplier: 2}
          - {id: tier, type: tier_multiplier, applies_to: [first]}
        """)
    assert at(err) == (7, 52)
    assert "multiplier rule 'first'" in err.message


@pytest.mark.parametrize(
    "event, expected",
    [
        ("bil", "unknown event type 'bil'; did you mean 'bill'?"),
        ("refund", "event type 'refund' cannot trigger an earning rule"),
    ],
)
def test_unknown_or_non_earning_event_type_in_on(event, expected):
    err = one_error(f"""\
        earning:
          - {{id: bill, type: spend, on: [recharge, {event}]}}
        """)
    assert at(err) == (5, 44)
    assert expected in err.message


def test_action_rule_reacts_to_actions_only():
    err = one_error("""\
        earning:
          - {id: a, type: action, points: 5, on: [survey, bill]}
        """)
    assert at(err) == (5, 51)
    assert "action rule reacts to survey, review, share, activity, not 'bill'" in err.message


def test_action_rule_requires_on():
    err = one_error("""\
        earning:
          - {id: a, type: action, points: 5}
        """)
    assert at(err) == (5, 5)
    assert "missing required key 'on' in earning rule 'a' (action)" == err.message


@pytest.mark.parametrize(
    "body, position, expected",
    [
        (
            "earning:\n  - {id: a, type: signup, points: 1}\n  - {id: a, type: birthday, points: 1}\n",
            (6, 10),
            "duplicate rule id 'a' (first defined at line 5, column 10)",
        ),
        (
            "rewards:\n  - {id: r, type: gift, name: G, cost: 1}\n  - {id: r, type: gift, name: H, cost: 2}\n",
            (6, 10),
            "duplicate reward id 'r' (first defined at line 5, column 10)",
        ),
        (
            "tiers:\n  - {id: t, name: T, rank: 0}\n  - {id: t, name: U, rank: 1}\n",
            (6, 10),
            "duplicate tier id 't' (first defined at line 5, column 10)",
        ),
        (
            "tiers:\n  - {id: t, name: T, rank: 0}\n  - {id: u, name: U, rank: 0}\n",
            (6, 28),
            "duplicate tier rank '0' (first defined at line 5, column 28)",
        ),
        (
            "caps:\n  - {id: c, per: day, max: 1}\n  - {id: c, per: month, max: 2}\n",
            (6, 10),
            "duplicate cap id 'c' (first defined at line 5, column 10)",
        ),
        (
            "rewards:\n  - id: m\n    type: merchant\n    name: M\n    cost: 1\n    merchants:\n"
            "      - {id: a, name: A, settle_yuan_per_point: 1}\n      - {id: a, name: B, settle_yuan_per_point: 1}\n",
            (11, 14),
            "duplicate merchant id 'a' (first defined at line 10, column 14)",
        ),
    ],
)
def test_duplicate_ids_reported_at_second_occurrence(body, position, expected):
    err = one_error(body)
    assert at(err) == position
    assert err.message == expected


def test_window_that_ends_before_it_starts():
    err = one_error("""\
        rewards:
          - id: g
            type: gift
            name: G
            cost: 1
            window: {from: 2026-03-01, to: 2026-02-01}
        """)
    assert at(err) == (9, 36)
    assert err.message == "window ends (2026-02-01) before it starts (2026-03-01)"


def test_missing_required_keys():
    plan, found = load_plan_text("description: nothing else\n", "p.yaml")
    assert plan is None
    messages = [(at(d), d.message) for d in found if d.severity == "error"]
    assert ((1, 1), "missing required key 'plan' in plan") in messages
    assert ((1, 1), "missing required key 'name' in plan") in messages


def test_missing_required_reward_keys_at_the_reward():
    found = errors("""\
        rewards:
          - id: credit
            type: bill_credit
            name: 话费
        """)
    assert [(at(d), d.message) for d in found] == [
        ((5, 5), "missing required key 'cost' in reward 'credit' (bill_credit)"),
        ((5, 5), "missing required key 'credit_yuan' in reward 'credit' (bill_credit)"),
    ]


@pytest.mark.parametrize(
    "body, position, expected",
    [
        ("reversal_policy: clawbak\n", (4, 18), "did you mean 'clawback'?"),
        ("consumption_order: fifo\n", (4, 20), "expected one of earliest_expiry, earliest_earned"),
        ("earning:\n  - {id: a, type: spend, rounding: flor}\n", (5, 36), "did you mean 'floor'?"),
        ("earning:\n  - {id: a, type: spnd}\n", (5, 19), "unknown type 'spnd' for earning rule"),
        ("rewards:\n  - {id: a, type: coupn, name: C, cost: 1}\n", (5, 19), "did you mean 'coupon'?"),
        ("caps:\n  - {id: c, per: week, max: 1}\n", (5, 18), "unknown cap period 'week'"),
        ("timezone: Asia/Shanghia\n", (4, 11), "did you mean 'Asia/Shanghai'?"),
    ],
)
def test_wrong_enum_values(body, position, expected):
    err = one_error(body)
    assert at(err) == position
    assert expected in err.message


def test_campaign_without_window():
    err = one_error("""\
        earning:
          - {id: bill, type: spend}
          - {id: double, type: campaign, multiplier: 2}
        """)
    assert at(err) == (6, 5)
    assert err.message == "missing required key 'window' in earning rule 'double' (campaign)"


def test_campaign_window_needs_both_ends():
    err = one_error("""\
        earning:
          - {id: bill, type: spend}
          - {id: double, type: campaign, multiplier: 2, window: {from: 2026-07-01}}
        """)
    assert at(err) == (6, 57)
    assert err.message == "a campaign window needs both from and to"


def test_rule_type_must_be_a_word():
    err = one_error("earning:\n  - {id: bill, type: [spend]}\n")
    assert at(err) == (5, 22)
    assert err.message.startswith("type: expected one of spend, recharge")
    assert err.message.endswith("got a list")


def test_multiplier_below_one():
    err = one_error("""\
        earning:
          - {id: bill, type: spend}
          - {id: first, type: first_purchase, multiplier: "0.5"}
        """)
    assert at(err) == (6, 51)
    assert "multiplier must be at least 1" in err.message


@pytest.mark.parametrize(
    "expiry, expected",
    [
        ("{days_after: 30, months_after: 1}", "takes only one of"),
        ("{}", "needs one of days_after"),
        ("{days_after: 0}", "days_after: must be a positive whole number"),
        ("{end_of_month_after: -1}", "end_of_month_after: must be zero or more"),
        ("sometimes", "expected 'never' or one of {days_after: N}"),
        ("nevr", "did you mean 'never'?"),
        ("{weeks_after: 2}", "unknown key 'weeks_after'"),
    ],
)
def test_bad_expiry(expiry, expected):
    plan, found = load_plan_text(f"plan: p\nname: P\nexpiry: {expiry}\n", "p.yaml")
    assert plan is None
    assert any(expected in d.message and d.line == 3 for d in found), [d.format() for d in found]


def test_credit_must_be_whole_fen():
    err = one_error("""\
        rewards:
          - {id: c, type: bill_credit, name: C, cost: 1, credit_yuan: "0.005"}
        """)
    assert at(err) == (5, 63)
    assert "not a whole number of fen" in err.message


def test_invalid_id():
    err = one_error("plan: P\n", head="name: P\nexpiry: never\n")
    assert "'P' is not a valid id" in err.message


def test_list_expected():
    err = one_error("""\
        earning:
          - {id: bill, type: spend, on: bill}
        """)
    assert at(err) == (5, 33)
    assert "on: expected a list, got text 'bill' (write [bill])" == err.message


def test_all_errors_of_a_file_in_one_call():
    plan, found = load("""\
        tiers:
          - {id: gold, name: 金卡, rank: 1, multiplier: 1.5}
          - {id: gold, name: 金卡2, rank: 2}
        earning:
          - id: bill
            type: spend
            per_yaun: 10
          - {id: rc, type: recharge, points: true, per_full_yuan: 100}
          - {id: tm, type: tier_multiplier, applies_to: [bil]}
          - {id: w, type: checkin, points: 5, window: {from: 2026-02-30}}
          - {id: c, type: campaign, multiplier: 2}
        caps:
          - {id: d, per: dya, max: 10}
        rewards:
          - {id: r, type: gift, name: G, cost: -1, tiers: [silver]}
          - {id: r, type: gift, name: H, cost: 1, window: {from: 2026-02-01, to: 2026-01-01}}
        """)
    assert plan is None
    errs = [d for d in found if d.severity == "error"]
    assert [d.line for d in errs] == [6, 10, 11, 12, 13, 14, 16, 18, 18, 19, 19]
    assert len({d.message for d in errs}) == len(errs)
    assert [d.line for d in found] == sorted(d.line for d in found)


def test_head_is_valid_on_its_own():
    plan, found = load_plan_text(HEAD, "p.yaml")
    assert plan is not None
    assert found == []


@pytest.mark.parametrize(
    "name, accepted", [("Asia/Urumqi", True), ("UTC", True), ("posixrules", False), ("../zoneinfo/UTC", False)]
)
def test_a_time_zone_is_checked_against_the_database_without_listing_it(monkeypatch, name, accepted):
    """A zone of the database is accepted as it loads; the list of every zone (a walk of the database) is made only
    for a name that is not one, to suggest the nearest."""
    from weixi.plans import values

    listed = []
    monkeypatch.setattr(values, "_zones", lambda: listed.append(1) or frozenset({"UTC", "Asia/Urumqi"}))
    if accepted:
        assert values.timezone_name(name) == name and not listed
    else:
        with pytest.raises(values.BadValue):
            values.timezone_name(name)
        assert listed
