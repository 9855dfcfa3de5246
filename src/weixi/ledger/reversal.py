"""Reversing every point an event earned (a full refund) with the ledger's own event ``reverse:<event id>``.

The reversal is a ``refund`` event posted under the time rules (:mod:`weixi.ledger.posting`). Reversing
again is a duplicate — but only when the event under that id really is this event's reversal and nothing of
what it earned is left: an id taken by anything else is refused, never reported as done (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters import ledger_repo as repo
from weixi.adapters.sql import execute
from weixi.errors import Conflict, NotFound, Where
from weixi.ledger.events import Event
from weixi.ledger.fold import fold_event
from weixi.ledger.posting import post_events
from weixi.plans.service import active_plan


@dataclass(frozen=True)
class Reversal:
    event_id: str
    reversal: str
    member_id: str
    duplicate: bool


class ReverseError(Conflict):
    """Refused (409): ``reversal_id_taken``, ``reversal_incomplete``, or the ledger's own refusal of the refund
    (``already_reversed``, ``month_closed``...) with its params."""


class UnknownEvent(NotFound, ReverseError):
    """No event has this id (404 ``unknown_event``)."""


def reversal_id(event_id: str) -> str:
    return f"reverse:{event_id}"


def reverse(engine: Engine, event_id: str, at: datetime | None = None) -> Reversal:
    fold_event(engine, event_id)  # a bill the lake holds comes into the ledger with its member's lots
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        src = repo.load_sources(conn, [event_id]).get(event_id)
        if src is None:
            raise UnknownEvent("unknown_event", event=event_id)
        _, plan = active_plan(conn)
    moment = at or datetime.now(ZoneInfo(plan.timezone))
    ev = Event(
        reversal_id(event_id),
        src.member_id,
        "refund",
        moment,
        moment.astimezone(ZoneInfo(plan.timezone)).date(),
        ref=event_id,
    )
    result = post_events(engine, [ev], time_rules=True)
    if result.rejected:
        refused = result.rejected[0]
        problem = refused.problem
        raise ReverseError(problem.code, Where(field=refused.field) if refused.field else None, **problem.params)
    if result.duplicates:
        _check_done(engine, ev, src.earned)
    return Reversal(event_id, ev.event_id, src.member_id, bool(result.duplicates))


def _check_done(engine: Engine, ev: Event, earned: int) -> None:
    """A duplicate reversal is an answer only if the event under its id is this reversal and it took back all."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT member_id, type, ref, amount_fen FROM events WHERE event_id = ?", [ev.event_id])
        counters = repo.load_counters(conn, [ev.member_id], ["E"])
    member_id, etype, ref, amount_fen = rows[0]
    if (member_id, etype, ref, amount_fen) != (ev.member_id, "refund", ev.ref, None):
        raise ReverseError("reversal_id_taken", event=ev.ref, reversal=ev.event_id, event_type=etype)
    left = earned - counters.get((ev.member_id, "reversed:" + ev.ref, "E"), 0)
    if left > 0:
        raise ReverseError("reversal_incomplete", event=ev.ref, left=left)
