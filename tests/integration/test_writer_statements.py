"""The API writer's statements: the active plan cached by its digest (a plan applied elsewhere is seen by the next
batch), SQLite statements on the driver connection (same transaction, SQLAlchemy's exceptions), the seen and
rejected event ids in one statement, deficit lots found per member."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import BACKENDS
from tests.integration.helpers import event
from tests.integration.plans import telecom
from weixi.adapters import ledger_repo
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute, executemany
from weixi.adapters.writer import Committer
from weixi.ledger import queries
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans import service as plans
from weixi.plans.service import active_plan, apply_plan

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


def bal(engine, member):
    return queries.balance(engine, member, date(2026, 12, 1))["balance"]


def test_a_plan_applied_by_another_engine_is_used_by_the_writers_next_batch(engine, db_url, tmp_path):
    apply_plan(engine, telecom(tmp_path))
    writer = Committer(engine)
    first = writer.post([event("b1", "m1", "bill", "2026-01-05", 10000)])
    assert first[0].status == "posted" and first[0].plan_version == 1
    assert bal(engine, "m1") == 10  # 1 point per 10 yuan

    doubled = tmp_path / "doubled.yaml"
    doubled.write_text(
        telecom(tmp_path).read_text(encoding="utf-8").replace("points: 1, per_yuan: 10", "points: 2, per_yuan: 10"),
        encoding="utf-8",
    )
    other = make_engine(db_url)  # as `weixi plan apply` from another process would
    try:
        assert apply_plan(other, doubled).version == 2
    finally:
        other.dispose()
    second = writer.post([event("b2", "m1", "bill", "2026-01-05", 10000)])
    assert second[0].plan_version == 2
    assert bal(engine, "m1") == 10 + 20

    # the first plan again: a new version with the same content is found in the cache under that version
    assert apply_plan(engine, telecom(tmp_path)).version == 3
    third = writer.post([event("b3", "m1", "bill", "2026-01-05", 10000)])
    assert third[0].plan_version == 3
    assert bal(engine, "m1") == 10 + 20 + 10
    with engine.connect() as conn, conn.begin():
        version, plan = active_plan(conn)
    assert version == 3 and plan.id == "telecom-test"
    assert verify(engine)[0] == []


def test_the_cached_plan_is_the_parsed_one_and_is_not_reparsed(engine, tmp_path, monkeypatch):
    apply_plan(engine, telecom(tmp_path))
    with engine.connect() as conn, conn.begin():
        _, plan = active_plan(conn)
    calls = []
    monkeypatch.setattr(plans, "_parse", lambda *a: calls.append(a))
    with engine.connect() as conn, conn.begin():
        again = active_plan(conn)[1]
    assert again is plan and calls == []


def test_a_stored_plan_whose_digest_does_not_match_is_not_cached(engine, tmp_path, monkeypatch):
    apply_plan(engine, telecom(tmp_path))
    with engine.begin() as conn:
        execute(conn, "UPDATE plan_versions SET sha256 = ? WHERE active = ?", ["0" * 64, True])
    monkeypatch.setattr(plans, "_PARSED", {})
    for _ in range(2):
        with engine.connect() as conn, conn.begin():
            active_plan(conn)
    assert plans._PARSED == {}


def test_statements_raise_sqlalchemy_errors_and_keep_the_transaction(engine, tmp_path):
    apply_plan(engine, telecom(tmp_path))
    post_events(engine, [event("b1", "m1", "bill", "2026-01-05", 10000)])
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            execute(conn, "INSERT INTO rewards (reward_id, stock_total, issued) VALUES (?,?,0)", ["x1", 5])
            executemany(
                conn, "INSERT INTO rewards (reward_id, stock_total, issued) VALUES (?,?,0)", [("x2", 1), ("gift", 1)]
            )
    with engine.connect() as conn:  # rolled back as a whole: x1 is not there either
        assert execute(conn, "SELECT reward_id FROM rewards WHERE reward_id IN (?, ?)", ["x1", "x2"]) == []
    with engine.connect() as conn:  # outside begin(): SQLAlchemy's autobegin, undone by the rollback
        execute(conn, "INSERT INTO rewards (reward_id, stock_total, issued) VALUES (?,?,0)", ["x3", 5])
        conn.rollback()
    with engine.connect() as conn:
        assert execute(conn, "SELECT reward_id FROM rewards WHERE reward_id = ?", ["x3"]) == []


def test_seen_and_rejected_in_one_statement_match_the_two_queries(engine, tmp_path):
    apply_plan(engine, telecom(tmp_path))
    events = [event(f"b{i}", f"m{i % 7}", "bill", "2026-01-05", 1000 + i) for i in range(600)]
    events += [event(f"x{i}", "m1", "redeem", "2026-01-06", ref="yacht") for i in range(300)]  # unknown reward
    result = post_events(engine, events, path="book")
    assert result.posted == 600 and len(result.rejected) == 300
    ids = [f"b{i}" for i in range(0, 700, 3)] + [f"x{i}" for i in range(0, 350, 2)] + ["nope", "b0"]
    with engine.connect() as conn, conn.begin():
        seen, rejected = ledger_repo.seen_and_rejected(conn, ids)
        assert seen == ledger_repo.existing_event_ids(conn, ids)
        assert rejected == ledger_repo.rejected_event_ids(conn, ids)
        assert ledger_repo.seen_and_rejected(conn, []) == (set(), {})
    assert len(seen) == 200 and len(rejected) == 150
    assert {(p.code, p.params["reward"]) for p in rejected.values()} == {("unknown_reward", "yacht")}  # stored codes


def test_a_later_earn_fills_a_deficit_lot_found_through_the_members_lots(engine, tmp_path):
    apply_plan(engine, telecom(tmp_path, policy="negative"))
    post_events(
        engine,
        [
            event("b1", "m1", "bill", "2026-01-05", 100000),
            event("r1", "m1", "redeem", "2026-01-06", ref="gift"),
            event("f1", "m1", "refund", "2026-01-07", ref="b1"),
        ],
    )
    with engine.connect() as conn, conn.begin():
        assert ledger_repo.deficit_members(conn, ["m1", "m2"]) == {"m1"}
    assert bal(engine, "m1") == -50
    post_events(
        engine,
        [event("b2", "m1", "bill", "2026-01-08", 30000), event("b3", "m2", "bill", "2026-01-08", 30000)],
        path="book",
    )
    with engine.connect() as conn, conn.begin():
        assert execute(conn, "SELECT remaining FROM lots WHERE member_id = ? AND deficit = ?", ["m1", True]) == [(-20,)]
        assert ledger_repo.deficit_members(conn, ["m1", "m2"]) == {"m1"}
    assert bal(engine, "m1") == -50 + 30 and bal(engine, "m2") == 30
    assert verify(engine)[0] == []
