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
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import struct
import logging
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.ledger.events import Event, Rejection
from weixi.ledger import redemption
from weixi.plans.service import active_plan
from weixi.ledger.posting import PostResult, _post_batch, with_retries

log = logging.getLogger("weixi.group_commit")
MAX_BATCH_EVENTS = 2000
ZONE_SECONDS = 5.0
WRITE_TIMEOUT = 30.0  # seconds a request waits for the writer's answer before it is answered 504


class WriterError(RuntimeError):
    """A write the writer did not take or did not answer. ``status``/``code`` for the API: 500 ``write_failed``
    (the request could not be handed to the writer: nothing was posted), 503 ``writer_unavailable`` (the writer
    stopped or the server is shutting down), 504 ``write_timeout`` (no answer in time: it may still post)."""

    def __init__(self, message: str, status: int = 503, code: str = "writer_unavailable"):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def _handoff_failed() -> WriterError:
    return WriterError("the request could not be handed to the ledger writer; nothing was posted", 500,
                       "write_failed")


def _timed_out(seconds: float) -> WriterError:
    return WriterError(f"the ledger writer did not answer within {seconds:g} s; the request may still be posted: "
                       "retry with the same ids", 504, "write_timeout")


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


class Committer:
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
            raise _timed_out(self.timeout) from None

    async def apost(self, events: list[Event]) -> list[Outcome]:
        """:meth:`submit` for a coroutine on the event loop: waits for the outcomes without blocking the loop
        (at most ``timeout`` seconds, then a 504 WriterError)."""
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.submit(events)), self.timeout)
        except asyncio.TimeoutError:
            raise _timed_out(self.timeout) from None

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
                    _resolve(future, error=RuntimeError("posting failed"))

    def post_batch(self, batch: list[tuple[list[Event], Future]]) -> None:
        """Post the requests of ``batch`` in one transaction and resolve their futures; if that fails as a whole,
        post each request on its own."""
        try:
            self._post(batch)
        except Exception as exc:
            if len(batch) == 1:
                log.exception("posting a request failed")
                _resolve(batch[0][1], error=exc)
                return
            for item in batch:
                try:
                    self._post([item])
                except Exception as single:
                    log.exception("posting a request failed")
                    _resolve(item[1], error=single)

    def stats(self) -> dict:
        return {"batches": self.batches, "events": self.events, "busy_seconds": round(self.busy_seconds, 3),
                "cpu_seconds": round(self.cpu_seconds, 3),
                "largest_batch": self.largest_batch,
                "events_per_batch": round(self.events / self.batches, 2) if self.batches else None}

    def _post(self, batch: list[tuple[list[Event], Future]]) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        events = [e for evs, _ in batch for e in evs]
        repeated = len({e.event_id for e in events}) < len(events)
        if repeated:  # an id more than once: each event carries its place in the batch, so its rejection is its own
            events = [dataclasses.replace(e, row=i) for i, e in enumerate(events)]
        rows: dict = {}  # redemption rows, read in the posting transaction (no second transaction)
        posted, duplicates, rejections, version = with_retries(
            self.engine, lambda conn: _post_batch(conn, events, "auto", rows))
        result = PostResult(posted, duplicates, rejections, version)
        self.batches += 1
        self.events += len(events)
        self.largest_batch = max(self.largest_batch, len(events))
        outcomes = iter(_outcomes(events, result, rows, repeated))
        for evs, future in batch:
            _resolve(future, [next(outcomes) for _ in evs])
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
            out.append(Outcome(e.event_id, "rejected", rej.reason, rej.field, plan_version=version))
            continue
        if repeated:
            status = "posted" if posts[e.event_id] > 0 else "duplicate"
            posts[e.event_id] = 0
        else:
            status = "duplicate" if e.event_id in dupset else "posted"
        out.append(Outcome(e.event_id, status, redemption=rows.get(e.event_id), plan_version=version))
    return out


def _resolve(future, result=None, error: BaseException | None = None) -> None:
    """Answer a waiter once; one that was already answered or cancelled (its caller stopped waiting) is left as it
    is, so a late answer never raises in the writer."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


def redeem_event(committer: Committer, member_id: str, reward_id: str, qty: int = 1, request_id: str | None = None,
                 attrs: dict | None = None) -> Event:
    """The redeem event :func:`weixi.ledger.redemption.redeem` would post (same ids, same idempotency: the
    key scoped to the member, :func:`weixi.ledger.redemption.redeem_event`), dated now."""
    return redemption.redeem_event(member_id, reward_id, qty, request_id, committer.now(), attrs)


# -- the writer in a process of its own ----------------------------------------------------------------------

class _Reply:
    """Stands in for a Future in the writer process: collects the outcome; the batch's outcomes go back to the
    server process together, in one message."""

    def __init__(self, replies: list, request_id: int):
        self.replies, self.request_id = replies, request_id

    def set_result(self, outcomes: list[Outcome]) -> None:
        self.replies.append((self.request_id, "ok", outcomes))

    def set_exception(self, exc: BaseException) -> None:
        self.replies.append((self.request_id, "error", f"{exc.__class__.__name__}: {exc}"))


CHECKPOINT_SECONDS = 0.25  # the background thread's PASSIVE checkpoints
FINISH_CHECKPOINT_SECONDS = 1.0  # the writer's own, between batches


def _checkpoint_in_background(engine):
    """SQLite in WAL mode: by default the commit that takes the WAL past 1,000 pages also checkpoints it — writes
    those pages back into the database file and fsyncs it — inside that batch's commit, so every few batches the
    requests waiting on it waited for a checkpoint too. In the writer process the commits skip that
    (``wal_autocheckpoint=0``); a thread copies the WAL back a few times a second (``PASSIVE``: it never blocks
    the writer or readers), and once a second the writer, between two batches, checkpoints the few pages
    written since (``PASSIVE`` again) so that the next commit can start the WAL over from its beginning (a
    checkpoint running beside ever-new commits never catches up on its own, and the WAL would grow without end).
    Commits still fsync the WAL (``synchronous=FULL``): durability is unchanged.

    Returns the function the writer calls between batches (None when not SQLite on a file)."""
    import sqlite3

    from sqlalchemy import event

    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None

    @event.listens_for(engine, "connect")
    def _no_autocheckpoint(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

    def run():
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=FULL")
        while True:
            time.sleep(CHECKPOINT_SECONDS)
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                log.exception("WAL checkpoint failed; trying again")

    threading.Thread(target=run, name="weixi-checkpoint", daemon=True).start()
    due = [time.monotonic() + FINISH_CHECKPOINT_SECONDS]

    def finish() -> None:
        now = time.monotonic()
        if now < due[0]:
            return
        raw = engine.raw_connection()  # autocommit (the engine issues BEGIN itself): outside any transaction
        try:
            busy, frames, done = raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            log.exception("WAL checkpoint failed; trying again")
            busy = 1
        finally:
            raw.close()
        if not busy and frames == done:  # else the thread was checkpointing: again after the next batch
            due[0] = now + FINISH_CHECKPOINT_SECONDS

    return finish


def _writer_main(db_url: str, conn, max_batch_events: int) -> None:
    """The writer process: read requests from the pipe (each message a list of ``(request id, events)``), post
    whatever has arrived as one batch, send every outcome of the batch back in one message."""
    from weixi.adapters.db import make_engine

    import gc

    core = Committer(make_engine(db_url), max_batch_events)
    finish_checkpoint = _checkpoint_in_background(core.engine)
    frozen = False
    while True:
        try:
            requests = conn.recv()
        except (EOFError, OSError):  # the server closed the pipe: done
            return
        size = sum(len(events) for _, events in requests)
        while size < max_batch_events and conn.poll():
            more = conn.recv()
            requests += more
            size += sum(len(events) for _, events in more)
        replies: list = []
        try:
            core.post_batch([(events, _Reply(replies, request_id)) for request_id, events in requests])
        except Exception:  # never stop serving: every request of the batch gets an answer
            log.exception("posting a batch failed")
            answered = {r[0] for r in replies}
            replies += [(rid, "error", "posting failed") for rid, _ in requests if rid not in answered]
        try:
            conn.send((replies, core.stats()))
        except OSError:  # the server closed the pipe (shutting down)
            return
        except Exception:  # an outcome that cannot be pickled: those requests fail, the others get theirs
            log.exception("sending outcomes back failed")
            conn.send(([r if _picklable(r) else (r[0], "error", "the outcome could not be sent back")
                        for r in replies], core.stats()))
        if finish_checkpoint is not None:
            finish_checkpoint()
        if not frozen:  # after the first batch (plan parsed, statements cached): no collector pauses over them
            gc.freeze()
            frozen = True


def _picklable(value) -> bool:
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True


def _error(payload) -> BaseException:
    """The exception for an ``error`` reply: a WriterError as is, the writer's text as a RuntimeError (a 500 whose
    text the API never shows)."""
    return payload if isinstance(payload, BaseException) else RuntimeError(payload)


def _settle(items: list) -> None:
    """On the event loop: resolve the asyncio futures of one batch (one loop wake-up for the whole batch)."""
    for future, kind, payload in items:
        if future.done():  # cancelled: the client went away or stopped waiting
            continue
        if kind == "ok":
            future.set_result(payload)
        else:
            future.set_exception(_error(payload))


class _LoopChannel:
    """The pipe to a writer process, driven by the server's event loop: requests are written without blocking (what
    the socket does not take at once is written when it becomes writable) and replies are read by a reader
    callback, so a request crosses no thread of the server process and needs no GIL hand-over. The frames are
    those of :class:`multiprocessing.connection.Connection` (4-byte big-endian length, then the pickle), which the
    writer process reads and writes."""

    def __init__(self, committer: "ProcessCommitter", loop, conn, pending: dict, process):
        self.committer, self.loop, self.conn, self.pending, self.process = committer, loop, conn, pending, process
        self.fd = conn.fileno()
        os.set_blocking(self.fd, False)
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.closed = False
        loop.add_reader(self.fd, self._readable)

    def send(self, items: list) -> None:
        """On the loop's thread: one message with ``items`` (request id, events)."""
        if self.closed:
            self.committer._fail(self.pending, "the writer process stopped before the request reached it")
            return
        try:
            data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # e.g. RecursionError: fail the requests that cannot cross, send the others
            if len(items) > 1:
                for item in items:
                    self.send([item])
                return
            log.exception("a request could not be handed to the writer process")
            self.committer._fail_requests(self.pending, [items[0][0]], _handoff_failed())
            return
        frame = struct.pack("!i", len(data)) + data
        if self.outbuf:
            self.outbuf += frame
            return
        try:
            written = os.write(self.fd, frame)
        except BlockingIOError:
            written = 0
        except OSError:
            self._close("the writer process stopped before the request reached it")
            return
        if written < len(frame):
            self.outbuf += frame[written:]
            self.loop.add_writer(self.fd, self._writable)

    def _writable(self) -> None:
        try:
            written = os.write(self.fd, self.outbuf)
        except BlockingIOError:
            return
        except OSError:
            self._close("the writer process stopped before the request reached it")
            return
        del self.outbuf[:written]
        if not self.outbuf:
            self.loop.remove_writer(self.fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close("the writer process stopped; the request may not be posted")
            return
        self.inbuf += data
        while len(self.inbuf) >= 4:
            size = struct.unpack_from("!i", self.inbuf)[0]
            if len(self.inbuf) < 4 + size:
                break
            message = pickle.loads(memoryview(self.inbuf)[4:4 + size])
            del self.inbuf[:4 + size]
            self.committer._deliver(message, self.pending, self.loop)

    def _close(self, message: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.fd)
        self.loop.remove_writer(self.fd)
        with self.committer._lock:
            self.committer._gone = self.process
        self.committer._fail(self.pending, message)


class ProcessCommitter(Committer):
    """The same group commit with the writer in a process of its own (``weixi serve``): the writer then never
    waits for the GIL behind the server's event loop, which on a busy machine costs a CPU scheduling delay after
    each of the ~25 database calls of a batch. Requests and outcomes cross a pipe; a writer process that dies
    fails its pending requests and is started again by the next one.

    Coroutines (:meth:`apost`, what the API uses) reach the writer through the event loop itself
    (:class:`_LoopChannel`): the requests of one pass of the loop go in one message, the outcomes of one batch come
    back in one message and are resolved on the loop. A writer process first used from plain threads
    (:meth:`submit`, :meth:`post`) is driven by a sending and a receiving thread instead."""

    def __init__(self, engine: Engine, db_url: str, max_batch_events: int = MAX_BATCH_EVENTS,
                 timeout: float = WRITE_TIMEOUT):
        super().__init__(engine, max_batch_events, timeout)
        self.db_url = db_url
        self._pending: dict[int, object] = {}
        self._ids = iter(range(1, 2**62))
        self._process = None
        self._conn = None
        self._io = None  # per writer process: None (not used yet), a _LoopChannel, or the outbox of the threads
        self._stats: dict = {}
        self._gone = None  # the writer process whose pipe closed
        self._staged: list = []  # requests from coroutines, sent when the event loop comes round
        self._flush_scheduled = False
        self._checked = 0.0

    def submit(self, events: list[Event]) -> Future:
        future: Future = Future()
        item = (self._next_id(), list(events))
        with self._lock:
            if self.closed:
                future.set_exception(WriterError(SHUTTING_DOWN))
                return future
            io = self._register(future, None, item[0])
        if isinstance(io, _LoopChannel):
            io.loop.call_soon_threadsafe(io.send, [item])
        else:
            io.put([item])
        return future

    async def apost(self, events: list[Event]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        item = (self._next_id(), list(events))
        flush = False
        with self._lock:
            if self.closed:
                raise WriterError(SHUTTING_DOWN)
            io = self._register((loop, future), loop, item[0])
            pending = self._pending
            if isinstance(io, _LoopChannel) and io.loop is loop:
                self._staged.append((io, item))
                flush, self._flush_scheduled = not self._flush_scheduled, True
        if isinstance(io, queue.SimpleQueue):  # a writer driven by threads
            io.put([item])
        elif io.loop is not loop:  # the channel of another loop
            io.loop.call_soon_threadsafe(io.send, [item])
        elif flush:  # everything staged until the loop comes round goes in one message
            loop.call_soon(self._flush)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except asyncio.TimeoutError:
            with self._lock:
                pending.pop(item[0], None)
            raise _timed_out(self.timeout) from None

    def _flush(self) -> None:
        with self._lock:
            staged, self._staged, self._flush_scheduled = self._staged, [], False
        by_channel: dict = {}
        for io, item in staged:  # a writer may have been replaced meanwhile: each request to its own
            by_channel.setdefault(id(io), (io, []))[1].append(item)
        for io, items in by_channel.values():
            try:
                io.send(items)
            except Exception:  # a bug in the hand-over must not leave these requests waiting
                log.exception("handing requests to the writer process failed")
                self._fail_requests(io.pending, [request_id for request_id, _ in items], _handoff_failed())

    def _next_id(self) -> int:
        return next(self._ids)  # itertools-backed: atomic under the GIL

    def _register(self, waiter, loop, request_id: int):
        """Under the lock: register ``waiter`` with a live writer (started if need be); returns how to reach it:
        the writer's channel on ``loop`` (made on first use from a coroutine) or the outbox of its threads."""
        if not self._writer_alive():
            self._spawn()
        if isinstance(self._io, _LoopChannel) and self._io.loop.is_closed():
            os.set_blocking(self._io.fd, True)  # its loop is gone: reach the same writer another way
            self._io = None
        if self._io is None:
            if loop is not None:
                self._io = _LoopChannel(self, loop, self._conn, self._pending, self._process)
            else:
                self._io = self._start_threads()
        self._pending[request_id] = waiter
        return self._io

    def start(self) -> None:
        with self._lock:
            if not self._writer_alive():
                self._spawn()

    def close(self, wait: float = 0.5) -> None:
        """Shut down: later requests fail (503), waiting ones fail now (503: they may still post), the writer
        process finishes its batch and exits (stopped after ``wait`` seconds if it has not)."""
        with self._lock:
            self.closed = True
            process, conn, io, pending = self._process, self._conn, self._io, self._pending
        self._fail(pending, SHUTTING_DOWN)
        if isinstance(io, _LoopChannel) and not io.loop.is_closed():
            io.closed = True
            try:
                io.loop.remove_reader(io.fd)
                io.loop.remove_writer(io.fd)
            except RuntimeError:  # not on that loop's thread, or it is closing: the fd closes below anyway
                pass
        if conn is not None:
            conn.close()  # the writer reads EOF after its batch and returns
        if process is not None:
            process.join(wait)
            for stop in (process.terminate, process.kill):  # a transaction cut short rolls back: nothing half-posted
                if process.is_alive():
                    stop()
                    process.join(wait)

    def _writer_alive(self) -> bool:
        """Without a system call per request: a writer whose pipe closed is marked gone, and a writer process
        already reaped (joined) has its exit code; otherwise ask the OS at most every 50 ms."""
        process = self._process
        if process is None or self._gone is process:
            return False
        now = time.monotonic()
        if now - self._checked < 0.05:
            return getattr(getattr(process, "_popen", None), "returncode", None) is None
        self._checked = now
        return process.is_alive()

    def stats(self) -> dict:
        return {**self._stats, "writer_process": self._process.pid if self._process is not None else None}

    def _spawn(self) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_writer_main, args=(self.db_url, child, self.max_batch_events),
                              name="weixi-writer", daemon=True)
        process.start()
        child.close()
        # each writer process has its own channel and pending requests: a dead one fails only its own
        self._process, self._conn, self._pending, self._io = process, parent, {}, None

    def _start_threads(self) -> queue.SimpleQueue:
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        conn, pending, process = self._conn, self._pending, self._process
        threading.Thread(target=self._send, args=(conn, outbox, pending), name="weixi-writer-send",
                         daemon=True).start()
        threading.Thread(target=self._receive, args=(conn, pending, process), name="weixi-writer-receive",
                         daemon=True).start()
        return outbox

    def _send(self, conn, outbox: queue.SimpleQueue, pending: dict) -> None:
        while True:
            items = list(outbox.get())
            while True:  # everything queued meanwhile goes in the same message
                try:
                    items += outbox.get_nowait()
                except queue.Empty:
                    break
            try:
                data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # e.g. RecursionError: fail the requests that cannot cross, send the others
                log.exception("a request could not be handed to the writer process")
                bad = [item for item in items if not _picklable(item)]
                self._fail_requests(pending, [request_id for request_id, _ in bad], _handoff_failed())
                items = [item for item in items if item not in bad]
                data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL) if items else None
            try:
                if data is not None:
                    conn.send_bytes(data)
            except (OSError, ValueError):
                self._fail(pending, "the writer process stopped before the request reached it")
                return

    def _receive(self, conn, pending: dict, process) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                with self._lock:
                    self._gone = process
                self._fail(pending, "the writer process stopped; the request may not be posted")
                return
            self._deliver(message, pending, None)

    def _deliver(self, message, pending: dict, on_loop) -> None:
        """Resolve the waiters of one batch's outcomes; ``on_loop``: the loop whose thread this runs on, if any."""
        replies, self._stats = message
        with self._lock:
            waiters = [(pending.pop(request_id, None), kind, payload) for request_id, kind, payload in replies]
        by_loop: dict = {}
        for waiter, kind, payload in waiters:
            if waiter is None:
                continue
            if isinstance(waiter, tuple):
                by_loop.setdefault(waiter[0], []).append((waiter[1], kind, payload))
            elif waiter.done():
                continue
            elif kind == "ok":
                waiter.set_result(payload)
            else:
                waiter.set_exception(_error(payload))
        for loop, items in by_loop.items():
            if loop is on_loop:
                _settle(items)
                continue
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:  # that loop is closed: nobody waits any more
                pass

    def _fail(self, pending: dict, message: str) -> None:
        """Fail every request waiting on one writer process (503 ``writer_unavailable``)."""
        with self._lock:
            waiters = list(pending.values())
            pending.clear()
        self._fail_waiters(waiters, WriterError(message))

    def _fail_requests(self, pending: dict, request_ids: list[int], error: WriterError) -> None:
        with self._lock:
            waiters = [w for w in (pending.pop(i, None) for i in request_ids) if w is not None]
        self._fail_waiters(waiters, error)

    @staticmethod
    def _fail_waiters(waiters: list, error: WriterError) -> None:
        for waiter in waiters:
            each = WriterError(error.message, error.status, error.code)  # one exception object per request
            if isinstance(waiter, tuple):
                try:
                    waiter[0].call_soon_threadsafe(_settle, [(waiter[1], "error", each)])
                except RuntimeError:
                    pass
            else:
                _resolve(waiter, error=each)
