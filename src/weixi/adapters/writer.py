"""Group commit: the API's writes to the ledger go through one writer thread that posts whatever requests are
waiting as one batch, in one transaction.

Why: every write transaction ends with an fsync (SQLite ``synchronous=FULL``), so one transaction per request
caps a server at one fsync per redemption. Posting the waiting requests together keeps every guarantee of
:func:`weixi.ledger.posting.post_events` — events apply in arrival order, each is accepted or rejected
on its own with its reason, a repeated event id is a duplicate, nothing is overspent — and each request is
answered only after the transaction that holds its events has committed. A batch that fails as a whole is
posted again one request at a time, so one bad request cannot fail its neighbours.

No request waits without bound: a request the writer cannot take (it cannot be handed over, the writer stopped, the
server is shutting down) fails at once with :class:`WriterError`, and one not answered within ``timeout`` seconds
fails with a 504 :class:`WriterError` (it may still post: events are idempotent, so the caller retries with the
same ids). The writer keeps serving the requests after a failed one.

Every writer is a :class:`Writer`: :class:`Committer` here (a thread of the server process) and
:class:`weixi.adapters.writer_process.ProcessCommitter` (a process of its own, ``weixi serve``). The API
(:mod:`weixi.api.routes.ledger`, :mod:`weixi.api.fastpath`) uses only that interface, and
``tests/integration/test_writer_contract.py`` runs the same cases against every implementation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.ledger import redemption
from weixi.ledger.events import Event, Rejection
from weixi.ledger.posting import PostResult, post_batch, with_retries
from weixi.plans.service import active_plan

log = logging.getLogger("weixi.group_commit")
MAX_BATCH_EVENTS = 2000
ZONE_SECONDS = 5.0
WRITE_TIMEOUT = 30.0  # seconds a request waits for the writer's answer before it is answered 504


class WriterError(RuntimeError):
    """A write the writer did not take or did not answer. ``status``/``code`` for the API: 500 ``write_failed``
    (the request could not be handed to the writer: nothing was posted), 503 ``writer_unavailable`` (the writer
    stopped or the server is shutting down), 504 ``write_timeout`` (no answer in time: it may still post).
    ``message`` is the English reason; ``code`` and ``params`` render it in other languages (errors.po)."""

    def __init__(self, message: str, status: int = 503, code: str = "writer_unavailable", params: dict | None = None):
        super().__init__(message)
        self.message, self.status, self.code, self.params = message, status, code, params or {}


def handoff_failed() -> WriterError:
    return WriterError("the request could not be handed to the ledger writer; nothing was posted", 500, "write_failed")


def timed_out(seconds: float) -> WriterError:
    return WriterError(
        f"the ledger writer did not answer within {seconds:g} s; the request may still be posted: "
        "retry with the same ids",
        504,
        "write_timeout",
        {"seconds": seconds},
    )


SHUTTING_DOWN = "the server is shutting down; the request may not be posted: retry with the same ids"


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
    code: str | None = None  # a rejection's code and params (weixi/locale/*/LC_MESSAGES/errors.po)
    params: dict | None = None


@runtime_checkable
class Writer(Protocol):
    """The one interface of the hot write path: what the API and the tools call, whatever runs the writer.

    ``submit`` queues a request (its events post together, in order) and returns a future of one
    :class:`Outcome` per event; ``post`` waits for it (a 504 :class:`WriterError` after ``timeout`` seconds) and
    ``apost`` awaits it on the event loop. A request the writer cannot take fails with a :class:`WriterError`.
    ``zone``/``cached_zone``/``now`` give the active plan's timezone; ``stats`` the writer's counters;
    ``start`` starts the writer ahead of the first request; ``close`` refuses later requests (503)."""

    engine: Engine
    timeout: float

    def start(self) -> None: ...

    def submit(self, events: list[Event]) -> Future: ...

    def post(self, events: list[Event]) -> list[Outcome]: ...

    async def apost(self, events: list[Event]) -> list[Outcome]: ...

    def zone(self) -> ZoneInfo: ...

    def cached_zone(self) -> ZoneInfo | None: ...

    def now(self) -> datetime: ...

    def stats(self) -> dict: ...

    def close(self) -> None: ...


class Committer:
    """The group-commit writer in a thread of the server process (see the module docstring)."""

    def __init__(self, engine: Engine, max_batch_events: int = MAX_BATCH_EVENTS, timeout: float = WRITE_TIMEOUT):
        self.engine = engine
        self.max_batch_events = max_batch_events
        self.timeout = timeout
        self.closed = False
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
        if self.closed:
            future.set_exception(WriterError(SHUTTING_DOWN))
            return future
        self._start()
        self._queue.put((list(events), future))
        return future

    def post(self, events: list[Event]) -> list[Outcome]:
        """:meth:`submit` and wait for the outcomes (at most ``timeout`` seconds, then a 504 WriterError)."""
        try:
            return self.submit(events).result(self.timeout)
        except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError
            raise timed_out(self.timeout) from None

    async def apost(self, events: list[Event]) -> list[Outcome]:
        """:meth:`submit` for a coroutine on the event loop: waits for the outcomes without blocking the loop
        (at most ``timeout`` seconds, then a 504 WriterError)."""
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.submit(events)), self.timeout)
        except asyncio.TimeoutError:
            raise timed_out(self.timeout) from None

    def start(self) -> None:
        """Start the writer thread now rather than with the first request."""
        self._start()

    def close(self) -> None:
        """Take no more requests (they fail with a 503 WriterError); the server is shutting down."""
        self.closed = True

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
                self.post_batch(batch)
            except Exception:  # never lose the thread: fail what is still unanswered, serve the next batch
                log.exception("posting a batch failed")
                for _, future in batch:
                    resolve(future, error=RuntimeError("posting failed"))

    def post_batch(self, batch: list[tuple[list[Event], Future]]) -> None:
        """Post the requests of ``batch`` in one transaction and resolve their futures; if that fails as a whole,
        post each request on its own."""
        try:
            self._post(batch)
        except Exception as exc:
            if len(batch) == 1:
                log.exception("posting a request failed")
                resolve(batch[0][1], error=exc)
                return
            for item in batch:
                try:
                    self._post([item])
                except Exception as single:
                    log.exception("posting a request failed")
                    resolve(item[1], error=single)

    def stats(self) -> dict:
        return {
            "batches": self.batches,
            "events": self.events,
            "busy_seconds": round(self.busy_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "largest_batch": self.largest_batch,
            "events_per_batch": round(self.events / self.batches, 2) if self.batches else None,
        }

    def _post(self, batch: list[tuple[list[Event], Future]]) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        events = [e for evs, _ in batch for e in evs]
        repeated = len({e.event_id for e in events}) < len(events)
        if repeated:  # an id more than once: each event carries its place in the batch, so its rejection is its own
            events = [dataclasses.replace(e, row=i) for i, e in enumerate(events)]
        rows: dict = {}  # redemption rows, read in the posting transaction (no second transaction)
        posted, duplicates, rejections, version = with_retries(
            self.engine, lambda conn: post_batch(conn, events, "auto", rows)
        )
        result = PostResult(posted, duplicates, rejections, version)
        self.batches += 1
        self.events += len(events)
        self.largest_batch = max(self.largest_batch, len(events))
        outcomes = iter(_outcomes(events, result, rows, repeated))
        for evs, future in batch:
            resolve(future, [next(outcomes) for _ in evs])
        self.busy_seconds += time.perf_counter() - started
        self.cpu_seconds += time.thread_time() - cpu


def _outcomes(events: list[Event], result: PostResult, rows: dict, repeated: bool) -> list[Outcome]:
    """One outcome per event, in order. An id sent more than once in the batch (``repeated``: then each event's
    ``row`` is its place in the batch) has at most one posted event, the first that was not rejected; the others
    are duplicates, or rejections of their own (a reused request key)."""
    version = result.plan_version
    if repeated:
        rejected = {r.row: r for r in result.rejected}
        dups: dict[str, int] = {}
        for event_id in result.duplicates:
            dups[event_id] = dups.get(event_id, 0) + 1
        left: dict[str, int] = {}  # per id: events not rejected, not yet seen in the loop below
        for e in events:
            if e.row not in rejected:
                left[e.event_id] = left.get(e.event_id, 0) + 1
        posts = {event_id: n - dups.get(event_id, 0) for event_id, n in left.items()}  # 0 or 1
    else:
        rejected, dupset = {r.event_id: r for r in result.rejected}, set(result.duplicates)
    out = []
    for e in events:
        rej: Rejection | None = rejected.get(e.row if repeated else e.event_id)
        if rej is not None:
            out.append(
                Outcome(
                    e.event_id,
                    "rejected",
                    rej.reason,
                    rej.field,
                    plan_version=version,
                    code=rej.code,
                    params=rej.params,
                )
            )
            continue
        if repeated:
            status = "posted" if posts[e.event_id] > 0 else "duplicate"
            posts[e.event_id] = 0
        else:
            status = "duplicate" if e.event_id in dupset else "posted"
        out.append(Outcome(e.event_id, status, redemption=rows.get(e.event_id), plan_version=version))
    return out


def resolve(future, result=None, error: BaseException | None = None) -> None:
    """Answer a waiter once; one that was already answered or cancelled (its caller stopped waiting) is left as it
    is, so a late answer never raises in the writer."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


def redeem_event(
    committer: Writer,
    member_id: str,
    reward_id: str,
    qty: int = 1,
    request_id: str | None = None,
    attrs: dict | None = None,
) -> Event:
    """The redeem event :func:`weixi.ledger.redemption.redeem` would post (same ids, same idempotency: the
    key scoped to the member, :func:`weixi.ledger.redemption.redeem_event`), dated now."""
    return redemption.redeem_event(member_id, reward_id, qty, request_id, committer.now(), attrs)
