"""The bulk path converts each distinct moment and attrs object to its stored text once; a cached text must be the
one the Book stores for the event at hand. Equal instants written at other UTC offsets keep their own offset's
text, and attrs whose values are equal in Python but not in JSON (``1``, ``True``, ``1.0``) keep their own JSON."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from tests.conftest import BACKENDS
from tests.integration import test_bulk
from tests.integration.test_bulk import assert_same_ledger, write_plan
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.plans.service import apply_plan

DAY = date(2026, 1, 5)
BEIJING = timezone(timedelta(hours=8))
two_dbs = test_bulk.two_dbs  # the fixture: two fresh ledgers on one backend (book, bulk)


def _bill(event_id: str, at: datetime, **attrs) -> Event:
    return Event(event_id, "m001", "bill", at, DAY, 12_850, None, None, attrs)


def _events() -> list[Event]:
    noon = datetime(2026, 1, 5, 12, tzinfo=BEIJING)
    return [
        _bill("b1", noon, note=1),
        _bill("b2", noon.astimezone(timezone.utc), note=True),  # the same instant, written in UTC
        _bill("b3", noon.astimezone(timezone(timedelta(hours=-5))), note=1.0),
        _bill("b4", noon, note=1),
    ]


def _stored(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT event_id, occurred_at, attrs FROM events ORDER BY event_id")
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.mark.parametrize("two_dbs", BACKENDS, indirect=True)
def test_equal_moments_and_attrs_keep_their_own_text_as_the_book_stores_them(two_dbs, tmp_path):
    book_engine, bulk_engine = two_dbs
    plan = write_plan(tmp_path)
    for eng in two_dbs:
        apply_plan(eng, plan)
    events = _events()
    book = post_events(book_engine, events, batch_size=len(events), path="book")
    bulk = post_events(bulk_engine, events, batch_size=len(events), path="bulk")
    assert (bulk.posted, bulk.rejected) == (book.posted, book.rejected) == (4, [])
    assert _stored(bulk_engine) == _stored(book_engine)
    assert_same_ledger(book_engine, bulk_engine)
    attrs = {k: v[1] for k, v in _stored(bulk_engine).items()}
    assert attrs == {"b1": '{"note": 1}', "b2": '{"note": true}', "b3": '{"note": 1.0}', "b4": '{"note": 1}'}


def test_on_sqlite_each_moment_is_stored_at_its_own_offset(tmp_path):
    """The ledger stores the moment's ISO text as given (SQLite): the UTC one is not the Beijing one's text."""
    engine = make_engine(str(tmp_path / "bulk.db"))
    schema.upgrade(engine)
    apply_plan(engine, write_plan(tmp_path))
    events = _events()
    post_events(engine, events, batch_size=len(events), path="bulk")
    moments = {k: v[0] for k, v in _stored(engine).items()}
    engine.dispose()
    assert moments == {
        "b1": "2026-01-05T12:00:00+08:00",
        "b2": "2026-01-05T04:00:00+00:00",
        "b3": "2026-01-04T23:00:00-05:00",
        "b4": "2026-01-05T12:00:00+08:00",
    }
