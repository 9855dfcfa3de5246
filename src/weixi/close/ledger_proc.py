"""The child processes that read and write a SQLite ledger file through ADBC for the close (never this process: see
:func:`weixi.close.ledger_read.ledger_arrows_later`).

Inside :func:`session` (the close, :func:`weixi.close.run.close_month`) one process serves every read and write
(:mod:`weixi.close.ledger_server`), started when the session opens so that its start-up overlaps the close's first
work; outside one, or while the session's process holds a transaction open (:class:`HeldUpdate`), each job has a
process of its own (:mod:`weixi.close.adbc_read`, :mod:`weixi.close.adbc_update`). Both give the same rows and write
the same statements in the same transactions; a process that dies takes its open transaction with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters.db import sqlite_file
from weixi.errors import Unavailable

READER = [sys.executable, "-m", "weixi.close.adbc_read"]  # a read's own process
UPDATER = [sys.executable, "-m", "weixi.close.adbc_update"]  # a write's own process (tests wrap it)
SERVER = [sys.executable, "-m", "weixi.close.ledger_server"]  # the session's process (tests wrap it)


class LedgerUnavailable(Unavailable, RuntimeError):
    """Reading or writing the ledger database failed (a RuntimeError too, for the callers that catch that)."""


class _Server:
    """The session's process: one request at a time, each a line of JSON answered by a line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.busy = False  # a held transaction is open: other work goes to processes of its own
        self._err = tempfile.TemporaryFile()
        self._child = subprocess.Popen(
            SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True, bufsize=1
        )

    def send(self, request: dict) -> None:
        self.send_line(json.dumps(request) + "\n")

    def send_line(self, line: str) -> None:
        try:
            self._child.stdin.write(line)
            self._child.stdin.flush()
        except (BrokenPipeError, OSError):  # gone: the answer's absence says why
            pass

    def answer(self, code: str) -> dict:
        line = self._child.stdout.readline()
        if not line:  # the process died: its error output says why
            self._child.wait()
            self._err.seek(0)
            reason = self._err.read().decode(errors="replace").strip()[-2000:] or f"exit {self._child.returncode}"
            raise LedgerUnavailable(code, path=str(self.path), reason=reason)
        out = json.loads(line)
        if not out.get("ok"):
            raise LedgerUnavailable(code, path=str(self.path), reason=out.get("error", "").strip())
        return out

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    def close(self) -> None:
        end_process(self._child, 30)
        self._err.close()


def end_process(child: subprocess.Popen, timeout: float) -> None:
    """The end of a child's input, then its end (killed when it has not ended within ``timeout`` seconds)."""
    try:
        child.stdin.close()
    except OSError:
        pass
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    child.stdout.close()


_SESSION: ContextVar[_Server | None] = ContextVar("weixi_ledger_server", default=None)


@contextmanager
def session(engine: Engine) -> Iterator[None]:
    """Serve this thread's reads and writes of the engine's SQLite file from one process until the block ends (on
    PostgreSQL, or a database in memory, nothing: the engine reads and writes itself)."""
    with scoped(_SESSION, sqlite_file(engine), _Server):
        yield


@contextmanager
def scoped(var: ContextVar, key, make) -> Iterator[None]:
    """``var`` set to ``make(key)`` until the block ends, then closed (nothing when ``key`` is None, or when ``var``
    is set already: the outer block's serves)."""
    if key is None or var.get() is not None:
        yield
        return
    server = make(key)
    token = var.set(server)
    try:
        yield
    finally:
        var.reset(token)
        server.close()


def in_this_session(fn: Callable):
    """``fn`` to be called in another thread with this thread's session (:func:`session`), whose process then
    serves it: a new thread does not inherit it. The caller sends no request of its own until ``fn`` returns."""
    server = _SESSION.get()

    def run(*args, **kwargs):
        token = _SESSION.set(server)
        try:
            return fn(*args, **kwargs)
        finally:
            _SESSION.reset(token)

    return run


def _serving(path: Path) -> _Server | None:
    """The session's process for ``path``, if it can take a request now."""
    server = _SESSION.get()
    if server is None or server.busy or server.path != path or not server.alive:
        return None
    return server


def _later(path: Path, request: dict, argv: list[str], code: str, parse):
    """Start a job on the SQLite file: ``request`` sent to the session's process, or ``argv`` (a process of its own)
    fed ``request`` without its ``op``, ``db`` and ``out`` or ``source``; the function returned awaits the answer
    and returns ``parse(answer)`` (the session's answer, a dict, or the process's output, text), or raises
    :class:`LedgerUnavailable` with ``code``. Until then the session's process takes no other request (other work
    goes to processes of its own), so the caller works on while the file is read or written. Call it exactly once."""
    server = _serving(path)
    if server is not None:
        server.busy = True
        server.send(request)

        def answer():
            try:
                return parse(server.answer(code))
            finally:
                server.busy = False

        return answer
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    own = {k: v for k, v in request.items() if k not in ("op", "db", "out", "source")}

    def done():
        out, err = child.communicate(json.dumps(own))
        if child.returncode != 0:
            raise LedgerUnavailable(code, path=str(path), reason=err.strip()[-2000:])
        return parse(out)

    return done


def read(path: Path, out: Path, queries: list[dict]) -> None:
    """Run the read-only ``queries`` (``{"sql", "params"}``) on the SQLite file in one read transaction, the i-th
    query's rows written to the Arrow IPC file ``OUT.i``."""
    read_later(path, out, queries)()


def read_later(path: Path, out: Path, queries: list[dict]):
    """:func:`read` started now, its answer awaited by calling the function returned (which raises what
    :func:`read` raises): the caller works on, in DuckDB, while the ledger file is read (see :func:`_later`)."""
    request = {"op": "read", "db": str(path), "out": str(out), "queries": queries}
    return _later(path, request, [*READER, str(path), str(out)], "ledger_read_failed", lambda _: None)


def _incoming(table: pa.Table) -> tempfile.TemporaryDirectory:
    tmp = tempfile.TemporaryDirectory(prefix="weixi-adbc-")
    with pa.OSFile(str(Path(tmp.name) / "incoming.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    return tmp


def update_sqlite(path: Path, table: pa.Table, statements: list[tuple[str, list]], skip_if=None) -> int:
    """Run ``statements`` (each ``(sql, params)``) on the SQLite file ``path`` in one ``BEGIN IMMEDIATE``
    transaction, with ``table`` as ``temp.incoming`` (:func:`weixi.close.adbc_update.update`); the number of rows
    the first one changed. ``skip_if``: a ``(sql, params)`` query checked first in the transaction; a row found
    means nothing is written and -1 is returned."""
    return update_later(path, table, statements, skip_if)()


def update_later(path: Path, table: pa.Table, statements: list[tuple[str, list]], skip_if=None):
    """:func:`update_sqlite` started now (committed on its own), its answer awaited by calling the function
    returned (the rows the first statement changed; it raises what :func:`update_sqlite` raises): the caller works
    on while the file is written (see :func:`_later`)."""
    tmp = _incoming(table)
    source = str(Path(tmp.name) / "incoming.arrow")
    request = {"op": "update", "db": str(path), "source": source, "statements": statements, "skip_if": skip_if}

    def changed(answer) -> int:
        return int(answer["changed"]) if isinstance(answer, dict) else int(answer.strip().splitlines()[-1])

    try:
        wait = _later(path, request, [*UPDATER, str(path), source], "ledger_write_failed", changed)
    except BaseException:
        tmp.cleanup()
        raise

    def done() -> int:
        try:
            return wait()
        finally:
            tmp.cleanup()

    return done


_while_committing: ContextVar[Callable[[], object] | None] = ContextVar("weixi_while_committing", default=None)


@contextmanager
def while_ledger_commits(work: Callable[[], object]) -> Iterator[None]:
    """Within the block, the close's accrual (:mod:`weixi.close.accrual_lake`) runs ``work`` (once) while the
    ledger process commits the month's members with the watermark: after the commit is sent, before its answer is
    awaited (its flush to disk left both cores idle, 0.05 s at 1,000,000 members). Not run when no such commit is
    held (a rerun, a month of fewer members than ``lake_apply.APPLY_CHILD_MIN``, PostgreSQL)."""
    token = _while_committing.set(work)
    try:
        yield
    finally:
        _while_committing.reset(token)


def work_while_committing() -> None:
    """Run the work :func:`while_ledger_commits` gave, if any (once): called between sending a commit and
    awaiting it."""
    work = _while_committing.get()
    if work is not None:
        _while_committing.set(None)
        work()


class HeldUpdate:
    """:func:`update_sqlite` started now and committed later: the child writes the statements in its transaction
    while the caller works on, then :meth:`commit` runs the last statements and commits, or :meth:`abort` rolls it
    all back (so does the caller's death: the child reads the end of its input). The SQLite write lock is held
    from the child's start to its end."""

    def __init__(self, path: Path, table: pa.Table, statements: list[tuple[str, list]], skip_if=None):
        self._tmp = _incoming(table)
        source = str(Path(self._tmp.name) / "incoming.arrow")
        self.path = path
        request = {"statements": statements, "skip_if": skip_if, "hold": True}
        self._server = _serving(path)
        if self._server is not None:
            self._server.busy = True
            self._server.send({"op": "update", "db": str(path), "source": source, **request})
            return
        self._child = subprocess.Popen(
            [*UPDATER, str(path), source],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:  # the first line; the second (commit or roll back) goes with communicate()
            self._child.stdin.write(json.dumps(request) + "\n")
            self._child.stdin.flush()
        except (BrokenPipeError, OSError):  # the child is gone: its exit status says why
            pass

    def commit(self, statements: list[tuple[str, list]]) -> int:
        """Run ``statements`` in the child's transaction and commit; the rows the first held statement changed
        (-1: ``skip_if`` found the work done)."""
        return self.commit_later(statements)()

    def commit_later(self, statements: list[tuple[str, list]]):
        """:meth:`commit` sent now to the session's process (the caller works on while it commits), its answer
        awaited by calling the function returned (exactly once; it raises what :meth:`commit` raises). A process of
        the update's own is sent it when the function is called."""
        line = json.dumps({"statements": statements}) + "\n"
        if self._server is None:
            return lambda: self._finish(line)
        try:
            self._server.send_line(line)
        except BaseException:
            self._server.busy = False
            self._tmp.cleanup()
            raise

        def answer() -> int:
            try:
                return int(self._server.answer("ledger_write_failed")["changed"])
            finally:
                self._server.busy = False
                self._tmp.cleanup()

        return answer

    def abort(self) -> None:
        """Roll the child's transaction back (nothing it wrote is kept) and wait for it."""
        try:
            self._finish("\n")
        except LedgerUnavailable:
            pass

    def _finish(self, line: str) -> int:
        try:
            if self._server is not None:
                try:
                    self._server.send_line(line)
                    return int(self._server.answer("ledger_write_failed")["changed"])
                finally:
                    self._server.busy = False
            out, err = self._child.communicate(line)
        finally:
            self._tmp.cleanup()
        if self._child.returncode != 0:
            raise LedgerUnavailable("ledger_write_failed", path=str(self.path), reason=err.strip()[-2000:])
        return int(out.strip().splitlines()[-1])


__all__ = [
    "READER",
    "SERVER",
    "UPDATER",
    "HeldUpdate",
    "LedgerUnavailable",
    "end_process",
    "in_this_session",
    "read",
    "read_later",
    "scoped",
    "session",
    "update_later",
    "update_sqlite",
    "while_ledger_commits",
    "work_while_committing",
]
