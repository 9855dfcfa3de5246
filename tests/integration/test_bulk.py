"""The set-based bulk path gives exactly the Book's ledger (SQLite and PostgreSQL), and batches that need the Book
fall back to it."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, PG_URL, pg_schema_url
from tests.integration.helpers import event
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.ledger import bulk
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

PLAN = """\
plan: bulk-test
name: bulk
expiry: {{end_of_month_after: 2}}
reversal_policy: {policy}
tiers:
  - {{id: standard, name: S, rank: 0}}
  - {{id: silver, name: Si, rank: 1, multiplier: 1.2}}
  - {{id: gold, name: G, rank: 2, multiplier: 1.5}}
  - {{id: plat, name: P, rank: 3, multiplier: 2.25}}
earning:
  - {{id: bill, type: spend, points: 1, per_yuan: 10}}
  - {{id: mobile, type: spend, points: 1.5, per_yuan: 7, rounding: half_up, service_types: [mobile]}}
  - {{id: broadband, type: spend, points: 3, per_yuan: 20, rounding: ceil, service_types: [broadband, iptv],
      window: {{from: 2026-01-10, to: 2026-02-20}}}}
  - {{id: recharge, type: recharge, points: 10, per_full_yuan: 100}}
  - {{id: recharge-spend, type: spend, on: [recharge], points: 0.5, per_yuan: 3, rounding: half_up}}
  - {{id: checkin, type: checkin, points: 5}}
  - {{id: signup, type: signup, points: 20}}
  - {{id: refer, type: referral, points: 30}}
  - {{id: tier-bonus, type: tier_multiplier, applies_to: [bill, mobile, recharge, recharge-spend]}}
  - {{id: tier-extra, type: tier_multiplier, applies_to: [broadband], rounding: half_up,
      window: {{from: 2026-01-01, to: 2026-01-31}}}}
{extra}
rewards:
  - {{id: gift, type: gift, name: cup, cost: 50}}
"""


def write_plan(tmp_path, policy="clawback", extra="", name="plan.yaml"):
    path = tmp_path / name
    path.write_text(PLAN.format(policy=policy, extra=extra), encoding="utf-8")
    return path


@pytest.fixture
def two_dbs(request, tmp_path):
    """Two fresh ledgers on the same backend: (book engine, bulk engine)."""
    backend = request.param
    engines, schemas = [], []
    if backend == "sqlite":
        for name in ("book", "bulk"):
            eng = make_engine(str(tmp_path / f"{name}.db"))
            schema.upgrade(eng)
            engines.append(eng)
    else:
        if not PG_URL:
            pytest.skip("no PostgreSQL (WEIXI_TEST_PG_URL unset): run through 'make test'")
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        for _ in range(2):
            name = "t_" + uuid.uuid4().hex[:12]
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {name}"))
            schemas.append(name)
            eng = make_engine(pg_schema_url(name))
            schema.upgrade(eng)
            engines.append(eng)
    yield engines
    for eng in engines:
        eng.dispose()
    if schemas:
        with admin.connect() as conn:
            for name in schemas:
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


TABLES = {
    "events": "SELECT event_id, member_id, type, occurred_at, day, amount_fen, points, ref, attrs, earned, plan_version "
    "FROM events",
    "lots": "SELECT lot_id, member_id, earned_on, expires_on, points, remaining, deficit, plan_version FROM lots",
    "journal": "SELECT member_id, day, kind, points, debt_delta, lot_id, event_id, rule_id, note, plan_version FROM journal",
    "members": "SELECT member_id, tier, signed_up_on, first_spend_on, paid, last_checkin_on, streak, balance, debt, "
    "first_seen_on FROM members",
    "counters": "SELECT member_id, key, period, value FROM counters",
    "rejections": "SELECT event_id, member_id, type, day, reason, plan_version FROM rejections",
    "referrals": "SELECT referee_id, referrer_id, event_id, day, rule_id, awarded_on FROM referrals",
}


def dump(engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {name: sorted(execute(conn, sql), key=repr) for name, sql in TABLES.items()}


def assert_same_ledger(book_engine, bulk_engine):
    a, b = dump(book_engine), dump(bulk_engine)
    for name in TABLES:
        assert a[name] == b[name], f"table {name} differs"
    assert verify(book_engine)[0] == [] and verify(bulk_engine)[0] == []
    return a


def outcome(result):
    return result.posted, result.duplicates, [(r.event_id, r.reason, r.row) for r in result.rejected]


START = date(2026, 1, 1)
TIERS = (None,) * 6 + ("standard", "silver", "gold", "plat")
SERVICES = (None, "mobile", "mobile", "broadband", "iptv", "fixed")


def prelude(rng: random.Random, members: list[str]):
    """Events only the Book can post, so that the bulk batches meet existing members of every kind."""
    evs = []
    for i, m in enumerate(members[: len(members) // 2]):
        day = START + timedelta(days=rng.randrange(0, 5))
        kind = rng.choice(["signup", "checkin", "bill", "redeem"])
        if kind == "bill":
            evs.append(event(f"p{i}", m, "bill", day, rng.randrange(0, 200_000), tier=rng.choice(TIERS[6:])))
        elif kind == "redeem":
            evs.append(event(f"p{i}", m, "signup", day))
            evs.append(event(f"rej{i}", m, "redeem", day, ref="gift"))  # not enough points: rejected
        else:
            evs.append(event(f"p{i}", m, kind, day))
    return evs


def random_batch(rng: random.Random, members: list[str], ids: list[str], n: int):
    evs = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08 and ids:
            event_id = rng.choice(ids)  # a duplicate (or a repeat of a rejected id) of an earlier batch or this one
        else:
            event_id = f"e{len(ids)}-{rng.randrange(10**6)}"
            ids.append(event_id)
        member = rng.choice(members)
        etype = "recharge" if rng.random() < 0.25 else "bill"
        amount = rng.choice([0, rng.randrange(0, 100_000), 100 * rng.randrange(0, 1000), rng.randrange(0, 5_000_000)])
        attrs = {}
        tier = rng.choice(TIERS)
        if tier:
            attrs["tier"] = tier
        service = rng.choice(SERVICES)
        if service:
            attrs["service_type"] = service
        if rng.random() < 0.05:
            attrs["note"] = "账单 ✓"
        day = START + timedelta(days=rng.randrange(0, 75))
        evs.append(event(event_id, member, etype, day, amount, **attrs))
    return evs


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
@pytest.mark.parametrize("seed", range(4))
def test_bulk_path_writes_exactly_what_the_book_writes(two_dbs, tmp_path, seed):
    book_engine, bulk_engine = two_dbs
    plan = write_plan(tmp_path)
    for eng in two_dbs:
        apply_plan(eng, plan)
    rng = random.Random(seed)
    members = [f"m{i:03d}" for i in range(60)]
    rng.shuffle(members)
    pre = prelude(rng, members)
    for eng in two_dbs:
        post_events(eng, pre, path="book")
    ids = [e.event_id for e in pre]
    for _ in range(5):
        batch = random_batch(rng, members, ids, rng.randrange(50, 400))
        assert bulk.can_bulk(_plan_of(bulk_engine), batch)
        expected = post_events(book_engine, batch, batch_size=len(batch), path="book")
        got = post_events(bulk_engine, batch, batch_size=len(batch), path="bulk")
        assert outcome(got) == outcome(expected)
    tables = assert_same_ledger(book_engine, bulk_engine)
    # the random batches did exercise what they should
    notes = " ".join(r[8] or "" for r in tables["journal"])
    assert "tier gold" in notes and "tier plat" in notes and "full blocks" in notes and "(ceil)" in notes
    assert any(r[9] == 0 for r in tables["events"] if r[2] == "bill")  # zero-point bills: posted, no lot


def _plan_of(engine):
    from weixi.plans.service import active_plan

    with engine.connect() as conn:
        return active_plan(conn)[1]


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_bulk_rerun_is_idempotent_and_auto_takes_bulk_for_big_batches(two_dbs, tmp_path, monkeypatch):
    book_engine, bulk_engine = two_dbs
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path))
    rng = random.Random(42)
    members = [f"m{i}" for i in range(300)]
    batch = random_batch(rng, members, [], 3000)
    calls = []
    real = bulk._compute
    monkeypatch.setattr(bulk, "_compute", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = post_events(bulk_engine, batch, batch_size=1500)  # auto
    assert len(calls) == 2
    expected = post_events(book_engine, batch, batch_size=1500, path="book")
    assert outcome(first) == outcome(expected)
    again = post_events(bulk_engine, batch, batch_size=1500, path="bulk")
    assert again.posted == 0 and len(again.duplicates) == len(batch)
    assert_same_ledger(book_engine, bulk_engine)


# --- batches that need the Book ----------------------------------------------------------------------------


def _both(two_dbs, batch, monkeypatch, expect_bulk=False):
    """Post ``batch`` with path="auto" (bulk allowed for any size) and with the Book; same ledger; bulk used?"""
    book_engine, auto_engine = two_dbs
    monkeypatch.setattr(bulk, "AUTO_MIN", 1)
    calls = []
    real = bulk._compute
    monkeypatch.setattr(bulk, "_compute", lambda *a, **k: calls.append(1) or real(*a, **k))
    expected = post_events(book_engine, batch, path="book")
    got = post_events(auto_engine, batch)
    assert outcome(got) == outcome(expected)
    assert_same_ledger(book_engine, auto_engine)
    assert bool(calls) == expect_bulk
    return got


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_a_cap_on_spend_points_needs_the_book(two_dbs, tmp_path, monkeypatch):
    extra = "caps:\n  - {id: monthly, per: month, max: 15, rules: [bill]}"
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path, extra=extra))
    batch = [event(f"b{i}", "m1", "bill", "2026-01-05", 10000) for i in range(3)]
    with pytest.raises(bulk.BulkNotApplicable):
        post_events(two_dbs[1], batch, path="bulk")
    _both(two_dbs, batch, monkeypatch)
    with two_dbs[1].connect() as conn:
        assert execute(conn, "SELECT balance FROM members")[0][0] == 15


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_a_cap_on_other_rules_and_a_closed_campaign_do_not_stop_bulk(two_dbs, tmp_path, monkeypatch):
    extra = (
        "  - {id: promo, type: campaign, multiplier: 2, window: {from: 2025-01-01, to: 2025-12-31}}\n"
        "caps:\n  - {id: checkins, per: month, max: 15, rules: [checkin]}"
    )
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path, extra=extra))
    _both(
        two_dbs,
        [event(f"b{i}", "m1", "bill", "2026-01-05", 10000, tier="gold") for i in range(3)],
        monkeypatch,
        expect_bulk=True,
    )


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_an_open_campaign_needs_the_book(two_dbs, tmp_path, monkeypatch):
    extra = "  - {id: promo, type: campaign, multiplier: 2, window: {from: 2026-01-01, to: 2026-01-31}, budget: 25}"
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path, extra=extra))
    _both(two_dbs, [event(f"b{i}", "m1", "bill", "2026-01-05", 10000) for i in range(3)], monkeypatch)


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_a_redeem_or_an_unknown_tier_in_the_batch_needs_the_book(two_dbs, tmp_path, monkeypatch):
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path))
    batch = [
        event("b1", "m1", "bill", "2026-01-05", 100000),
        event("r1", "m1", "redeem", "2026-01-06", ref="gift"),
        event("b2", "m2", "bill", "2026-01-05", 100000, tier="diamond"),
    ]
    assert not bulk.can_bulk(_plan_of(two_dbs[0]), batch)
    got = _both(two_dbs, batch, monkeypatch)
    assert [r.event_id for r in got.rejected] == ["b2"]


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_a_member_with_a_debt_needs_the_book(two_dbs, tmp_path, monkeypatch):
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path, policy="debt"))
        post_events(
            eng,
            [
                event("b1", "m1", "bill", "2026-01-05", 100000),
                event("r1", "m1", "redeem", "2026-01-06", ref="gift"),
                event("f1", "m1", "refund", "2026-01-07", ref="b1"),
            ],
        )
    with two_dbs[1].connect() as conn:
        assert execute(conn, "SELECT debt FROM members WHERE member_id = 'm1'")[0][0] == 50
    batch = [event("b2", "m1", "bill", "2026-01-08", 30000), event("b3", "m2", "bill", "2026-01-08", 30000)]
    with pytest.raises(bulk.BulkNotApplicable):
        post_events(two_dbs[1], batch, path="bulk")
    _both(two_dbs, batch, monkeypatch)


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_a_member_with_a_negative_balance_needs_the_book(two_dbs, tmp_path, monkeypatch):
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path, policy="negative"))
        post_events(
            eng,
            [
                event("b1", "m1", "bill", "2026-01-05", 100000),
                event("r1", "m1", "redeem", "2026-01-06", ref="gift"),
                event("f1", "m1", "refund", "2026-01-07", ref="b1"),
            ],
        )
    with two_dbs[1].connect() as conn:
        assert execute(conn, "SELECT remaining FROM lots WHERE lot_id = 'deficit:m1'")[0][0] == -50
    batch = [event("b2", "m1", "bill", "2026-01-08", 30000)]
    with pytest.raises(bulk.BulkNotApplicable):
        post_events(two_dbs[1], batch, path="bulk")
    _both(two_dbs, batch, monkeypatch)


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_a_pending_referral_needs_the_book(two_dbs, tmp_path, monkeypatch):
    for eng in two_dbs:
        apply_plan(eng, write_plan(tmp_path))
        post_events(
            eng, [event("s1", "new", "signup", "2026-01-05"), event("ref1", "old", "referral", "2026-01-05", ref="new")]
        )
    batch = [event("b1", "new", "bill", "2026-01-08", 30000)]
    with pytest.raises(bulk.BulkNotApplicable):
        post_events(two_dbs[1], batch, path="bulk")
    _both(two_dbs, batch, monkeypatch)
    with two_dbs[1].connect() as conn:
        assert execute(conn, "SELECT balance FROM members WHERE member_id = 'old'")[0][0] == 30
    # once awarded, the referee's bills go bulk again
    _both(two_dbs, [event("b2", "new", "bill", "2026-01-09", 30000)], monkeypatch, expect_bulk=True)


# --- the arithmetic against Decimal ------------------------------------------------------------------------


def test_yuan_text_is_how_decimal_prints_the_amount():
    for fen in [*range(0, 3000), 10**6, 10**6 + 1, 123456789, 10**14 - 1]:
        assert bulk.yuan_text(fen) == str(Decimal(fen) / 100)


def test_integer_rounding_agrees_with_decimal():
    rng = random.Random(7)
    modes = {bulk.FLOOR: ROUND_FLOOR, bulk.CEIL: ROUND_CEILING, bulk.HALF_UP: ROUND_HALF_UP}
    for _ in range(20000):
        rate = Decimal(rng.randrange(1, 4000)) / rng.choice([1, 2, 4, 10, 100, 1000])  # a plan writes decimals
        per = Decimal(rng.randrange(1, 3000)) / rng.choice([1, 10, 100, 1000])
        fen = rng.choice([rng.randrange(0, 1000), rng.randrange(0, 10**9)])
        mode = rng.choice(list(modes))
        yuan = Decimal(fen) / 100
        expected = int((yuan * rate / per).to_integral_value(rounding=modes[mode]))
        pn, pd = rate.as_integer_ratio()
        yn, yd = per.as_integer_ratio()
        assert bulk._round(fen * pn * yd, 100 * pd * yn, mode) == expected
