"""The group-commit writer in a process of its own (``weixi serve``): :class:`ProcessCommitter`, the writer
process's main loop (:func:`writer_main`), its WAL checkpoints, and the pipe channel driven by the server's event
loop (:class:`LoopChannel`). The batching, outcomes and errors are those of :mod:`weixi.adapters.writer`; both
writers implement :class:`weixi.adapters.writer.Writer`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import queue
import struct
import threading
import time
from concurrent.futures import Future

from sqlalchemy import Engine

from weixi.adapters.writer import (
    MAX_BATCH_EVENTS,
    SHUTTING_DOWN,
    WRITE_TIMEOUT,
    Committer,
    Outcome,
    WriterError,
    handoff_failed,
    resolve,
    timed_out,
)
from weixi.adapters.writer_child import picklable, writer_main
from weixi.ledger.events import Event

log = logging.getLogger("weixi.group_commit")


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


class LoopChannel:
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
            self.committer.fail_pending(self.pending, "the writer process stopped before the request reached it")
            return
        try:
            data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # e.g. RecursionError: fail the requests that cannot cross, send the others
            if len(items) > 1:
                for item in items:
                    self.send([item])
                return
            log.exception("a request could not be handed to the writer process")
            self.committer.fail_requests(self.pending, [items[0][0]], handoff_failed())
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
            message = pickle.loads(memoryview(self.inbuf)[4 : 4 + size])
            del self.inbuf[: 4 + size]
            self.committer.deliver(message, self.pending, self.loop)

    def detach(self) -> None:
        """Stop using the pipe (the server is shutting down): no more sends, no more reader callbacks."""
        if self.loop.is_closed():
            return
        self.closed = True
        try:
            self.loop.remove_reader(self.fd)
            self.loop.remove_writer(self.fd)
        except RuntimeError:  # not on that loop's thread, or it is closing: the fd closes anyway
            pass

    def _close(self, message: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.fd)
        self.loop.remove_writer(self.fd)
        self.committer.mark_gone(self.process)
        self.committer.fail_pending(self.pending, message)


class ProcessCommitter(Committer):
    """The same group commit with the writer in a process of its own (``weixi serve``): the writer then never
    waits for the GIL behind the server's event loop, which on a busy machine costs a CPU scheduling delay after
    each of the ~25 database calls of a batch. Requests and outcomes cross a pipe; a writer process that dies
    fails its pending requests and is started again by the next one.

    Coroutines (:meth:`apost`, what the API uses) reach the writer through the event loop itself
    (:class:`LoopChannel`): the requests of one pass of the loop go in one message, the outcomes of one batch come
    back in one message and are resolved on the loop. A writer process first used from plain threads
    (:meth:`submit`, :meth:`post`) is driven by a sending and a receiving thread instead."""

    def __init__(
        self, engine: Engine, db_url: str, max_batch_events: int = MAX_BATCH_EVENTS, timeout: float = WRITE_TIMEOUT
    ):
        super().__init__(engine, max_batch_events, timeout)
        self.db_url = db_url
        self._pending: dict[int, object] = {}
        self._ids = iter(range(1, 2**62))
        self._process = None
        self._conn = None
        self._io = None  # per writer process: None (not used yet), a LoopChannel, or the outbox of the threads
        # the writer process's counters, as of its last batch (the same shape as Committer.stats)
        self._stats: dict = {
            "batches": 0,
            "events": 0,
            "busy_seconds": 0.0,
            "cpu_seconds": 0.0,
            "largest_batch": 0,
            "events_per_batch": None,
        }
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
        if isinstance(io, LoopChannel):
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
            if isinstance(io, LoopChannel) and io.loop is loop:
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
            raise timed_out(self.timeout) from None

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
                self.fail_requests(io.pending, [request_id for request_id, _ in items], handoff_failed())

    def _next_id(self) -> int:
        return next(self._ids)  # itertools-backed: atomic under the GIL

    def _register(self, waiter, loop, request_id: int):
        """Under the lock: register ``waiter`` with a live writer (started if need be); returns how to reach it:
        the writer's channel on ``loop`` (made on first use from a coroutine) or the outbox of its threads."""
        if not self._writer_alive():
            self._spawn()
        if isinstance(self._io, LoopChannel) and self._io.loop.is_closed():
            os.set_blocking(self._io.fd, True)  # its loop is gone: reach the same writer another way
            self._io = None
        if self._io is None:
            if loop is not None:
                self._io = LoopChannel(self, loop, self._conn, self._pending, self._process)
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
        self.fail_pending(pending, SHUTTING_DOWN)
        if isinstance(io, LoopChannel):
            io.detach()
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
        process = ctx.Process(
            target=writer_main, args=(self.db_url, child, self.max_batch_events), name="weixi-writer", daemon=True
        )
        process.start()
        child.close()
        # each writer process has its own channel and pending requests: a dead one fails only its own
        self._process, self._conn, self._pending, self._io = process, parent, {}, None

    def _start_threads(self) -> queue.SimpleQueue:
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        conn, pending, process = self._conn, self._pending, self._process
        threading.Thread(target=self._send, args=(conn, outbox, pending), name="weixi-writer-send", daemon=True).start()
        threading.Thread(
            target=self._receive, args=(conn, pending, process), name="weixi-writer-receive", daemon=True
        ).start()
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
                bad = [item for item in items if not picklable(item)]
                self.fail_requests(pending, [request_id for request_id, _ in bad], handoff_failed())
                items = [item for item in items if item not in bad]
                data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL) if items else None
            try:
                if data is not None:
                    conn.send_bytes(data)
            except (OSError, ValueError):
                self.fail_pending(pending, "the writer process stopped before the request reached it")
                return

    def _receive(self, conn, pending: dict, process) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                with self._lock:
                    self._gone = process
                self.fail_pending(pending, "the writer process stopped; the request may not be posted")
                return
            self.deliver(message, pending, None)

    def deliver(self, message, pending: dict, on_loop) -> None:
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

    def mark_gone(self, process) -> None:
        """The pipe to ``process`` closed: the next request starts a new writer process."""
        with self._lock:
            self._gone = process

    def fail_pending(self, pending: dict, message: str) -> None:
        """Fail every request waiting on one writer process (503 ``writer_unavailable``)."""
        with self._lock:
            waiters = list(pending.values())
            pending.clear()
        self._fail_waiters(waiters, WriterError(message))

    def fail_requests(self, pending: dict, request_ids: list[int], error: WriterError) -> None:
        with self._lock:
            waiters = [w for w in (pending.pop(i, None) for i in request_ids) if w is not None]
        self._fail_waiters(waiters, error)

    @staticmethod
    def _fail_waiters(waiters: list, error: WriterError) -> None:
        for waiter in waiters:
            each = WriterError(
                error.message, error.status, error.code, error.params
            )  # one exception object per request
            if isinstance(waiter, tuple):
                try:
                    waiter[0].call_soon_threadsafe(_settle, [(waiter[1], "error", each)])
                except RuntimeError:
                    pass
            else:
                resolve(waiter, error=each)
