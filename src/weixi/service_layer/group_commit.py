"""Group commit: the API's writes to the ledger go through one writer thread that posts whatever requests are
waiting as one batch, in one transaction.

Why: every write transaction ends with an fsync (SQLite ``synchronous=FULL``), so one transaction per request
caps a server at one fsync per redemption. Posting the waiting requests together keeps every guarantee of
:func:`weixi.service_layer.posting.post_events` — events apply in arrival order, each is accepted or rejected
on its own with its reason, a repeated event id is a duplicate, nothing is overspent — and each request is
answered only after the transaction that holds its events has committed. A batch that fails as a whole is
posted again one request at a time, so one bad request cannot fail its neighbours.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters.sql import select_in
from weixi.ledger.events import Event, Rejection
from weixi.service_layer.plans import active_plan
from weixi.service_layer.posting import post_events

log = logging.getLogger("weixi.group_commit")
MAX_BATCH_EVENTS = 2000
ZONE_SECONDS = 5.0
REDEMPTION_KEYS = ("redemption_id", "member_id", "reward_id", "qty", "points", "day", "status", "details", "request_id")


@dataclass(frozen=True)
class Outcome:
    """What became of one event: ``posted``, ``duplicate`` or ``rejected`` (with ``reason``); redeem events carry
    their redemption row (posted or duplicate)."""

    event_id: str
    status: str
    reason: str | None = None
    field: str | None = None
    redemption: dict | None = None
    plan_version: int | None = None


class Committer:
    def __init__(self, engine: Engine, max_batch_events: int = MAX_BATCH_EVENTS):
        self.engine = engine
        self.max_batch_events = max_batch_events
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._zone: tuple[float, ZoneInfo] | None = None
        self.batches = 0
        self.events = 0
        self.busy_seconds = 0.0  # time spent posting (transaction, fsync, reading redemptions back)
        self.largest_batch = 0
        self.cpu_seconds = 0.0  # CPU time of the writer thread while posting

    # -- what callers use ------------------------------------------------------------------------------------
    def submit(self, events: list[Event]) -> Future:
        """Queue ``events`` (posted together, in order, in the next batch); the future gives ``list[Outcome]``."""
        future: Future = Future()
        self._start()
        self._queue.put((list(events), future))
        return future

    def post(self, events: list[Event]) -> list[Outcome]:
        return self.submit(events).result()

    def zone(self) -> ZoneInfo:
        """The active plan's timezone (cached for a few seconds)."""
        now = time.monotonic()
        if self._zone is None or self._zone[0] < now:
            with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
                tz = ZoneInfo(active_plan(conn)[1].timezone)
            self._zone = (now + ZONE_SECONDS, tz)
        return self._zone[1]

    def cached_zone(self) -> ZoneInfo | None:
        """The cached timezone if still fresh, else None (then call :meth:`zone`, which reads the database)."""
        hit = self._zone
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def now(self) -> datetime:
        return datetime.now(self.zone())

    # -- the writer ------------------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="weixi-group-commit", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            size = len(batch[0][0])
            while size < self.max_batch_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                size += len(item[0])
            try:
                self._post(batch)
            except Exception as exc:  # the batch as a whole failed: post each request on its own
                if len(batch) == 1:
                    log.exception("posting a request failed")
                    batch[0][1].set_exception(exc)
                    continue
                for item in batch:
                    try:
                        self._post([item])
                    except Exception as single:
                        log.exception("posting a request failed")
                        item[1].set_exception(single)

    def stats(self) -> dict:
        return {"batches": self.batches, "events": self.events, "busy_seconds": round(self.busy_seconds, 3),
                "cpu_seconds": round(self.cpu_seconds, 3),
                "largest_batch": self.largest_batch,
                "events_per_batch": round(self.events / self.batches, 2) if self.batches else None}

    def _post(self, batch: list[tuple[list[Event], Future]]) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        events = [e for evs, _ in batch for e in evs]
        result = post_events(self.engine, events, batch_size=max(len(events), 1))
        self.batches += 1
        self.events += len(events)
        self.largest_batch = max(self.largest_batch, len(events))
        rejected = {r.event_id: r for r in result.rejected}
        duplicates = set(result.duplicates)
        redeems = [e.event_id for e in events if e.type == "redeem" and e.event_id not in rejected]
        rows = {}
        if redeems:
            with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
                found = select_in(conn, "SELECT redemption_id, member_id, reward_id, qty, points, day, status, details, "
                                        "request_id FROM redemptions WHERE redemption_id {in}", redeems)
            for row in found:
                r = dict(zip(REDEMPTION_KEYS, row))
                r["details"] = json.loads(r["details"])
                r["day"] = str(r["day"])[:10]
                r["qty"], r["points"] = int(r["qty"]), int(r["points"])
                rows[r["redemption_id"]] = r
        for evs, future in batch:
            out = []
            for e in evs:
                if e.event_id in rejected:
                    rej: Rejection = rejected[e.event_id]
                    out.append(Outcome(e.event_id, "rejected", rej.reason, rej.field, plan_version=result.plan_version))
                else:
                    out.append(Outcome(e.event_id, "duplicate" if e.event_id in duplicates else "posted",
                                       redemption=rows.get(e.event_id), plan_version=result.plan_version))
            future.set_result(out)
        self.busy_seconds += time.perf_counter() - started
        self.cpu_seconds += time.thread_time() - cpu


def redeem_event(committer: Committer, member_id: str, reward_id: str, qty: int = 1, request_id: str | None = None,
                 attrs: dict | None = None) -> Event:
    """The redeem event :func:`weixi.service_layer.redemption.redeem` would post (same ids, same idempotency)."""
    moment = committer.now()
    event_id = f"redeem:{request_id}" if request_id else f"redeem:{uuid.uuid4().hex}"
    return Event(event_id, member_id, "redeem", moment, moment.date(), ref=reward_id,
                 attrs={**(attrs or {}), "qty": qty, **({"request_id": request_id} if request_id else {})})
