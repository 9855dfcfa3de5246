"""What runs inside the writer process of :class:`weixi.adapters.writer_process.ProcessCommitter`: its main loop
(:func:`writer_main`: read requests from the pipe, post them as one batch with the in-process
:class:`~weixi.adapters.writer.Committer`, send the outcomes back in one message) and its WAL checkpoints.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time

from weixi.adapters.writer import Committer, Outcome

log = logging.getLogger("weixi.group_commit")


class Reply:
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


def writer_main(db_url: str, conn, max_batch_events: int) -> None:
    """The writer process: read requests from the pipe (each message a list of ``(request id, events)``), post
    whatever has arrived as one batch, send every outcome of the batch back in one message."""
    import gc

    from weixi.adapters.db import make_engine

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
            core.post_batch([(events, Reply(replies, request_id)) for request_id, events in requests])
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
            conn.send(
                (
                    [r if picklable(r) else (r[0], "error", "the outcome could not be sent back") for r in replies],
                    core.stats(),
                )
            )
        if finish_checkpoint is not None:
            finish_checkpoint()
        if not frozen:  # after the first batch (plan parsed, statements cached): no collector pauses over them
            gc.freeze()
            frozen = True


def picklable(value) -> bool:
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True
