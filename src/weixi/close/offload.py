"""The PySpark close's member-scale work that is not Spark's, in a process of its own (the ledger process): the
driver holds no member-scale data.

On PySpark the close's Python process (the driver) runs Spark and commits the files Spark writes. What the close
reads from or writes to the ledger at member scale, and the member search index, run here instead, in a child
process (``python -m weixi.close.offload``) that opens the same ledger and calls the very functions the DuckDB
close calls in its own process:

- ``accrue``: the month's accrual (DuckDB over the month's bills; the lake commit or the SQL loading process);
- ``expire``: the expiry (in the lake and in SQL);
- ``points_earned`` and ``balances``: written as the Parquet files Spark reads (never an Arrow table in the driver);
- ``set_tiers``: the tiers the snapshot changed, read from the file Spark wrote;
- ``summary``: the close summary's counts over the written files and the ledger's totals;
- ``search_index``: :func:`weixi.adapters.search_index.build` (DuckDB over the archive's members, when they changed).

Inside :func:`session` (a PySpark close, :func:`weixi.close.run.close_month`) one child serves every call, started
when the session opens so that its start-up overlaps Spark's; it holds the ledger process of the close's ADBC reads
and writes (:func:`weixi.close.ledger_proc.session`) as the DuckDB close does. Outside one, each call has a child
of its own. (A child's start is its interpreter and imports, about a second: with a child per call, six or seven a
close, each starting ADBC processes of its own, two 1,500-member closes took 50 s; with one, 33 s.) The child's
memory goes back to the system when it exits, at the latest when the close ends, and the driver's peak does not grow
with the members (``benchmarks/bench_spark_memory.py``).

A request is one line of JSON on the child's standard input; the child prints ``{"progress": n}`` lines (the
accrual's chunks) and then ``{"result": ...}`` or ``{"error": ...}`` (a :class:`~weixi.errors.WeixiError`'s class,
code and params, raised again in the driver as the same class), and reads the next request until its input ends.
An in-memory ledger, which no other process can open, is served in this process. Every step is idempotent as in the
DuckDB close: a child that dies leaves what it committed, and the rerun of the close finishes the month.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from sqlalchemy import Engine

from weixi.adapters.db import sqlite_file
from weixi.close import ledger_proc
from weixi.errors import NotFound, Unavailable, WeixiError

COMMAND = [sys.executable, "-m", "weixi.close.offload"]  # the child (tests may wrap it)


class LedgerProcessFailed(Unavailable, RuntimeError):
    """The ledger process of a PySpark close stopped without an answer (killed, or an unexpected failure)."""


# -- the driver's side --------------------------------------------------------------------------------------------


def accrue(engine: Engine, data_dir: Path, month: str, version: int, progress: Callable[[int], None] | None = None):
    """:func:`weixi.close.accrual.accrue` of ``month`` at plan ``version``; its :class:`AccrualResult`."""
    from weixi.close.accrual import AccrualResult

    args = {"data_dir": str(data_dir), "month": month, "version": version}
    return AccrualResult(**call(engine, "accrue", args, progress))


def expire(engine: Engine, as_of: date):
    """:func:`weixi.ledger.expire.expire` as of ``as_of``; its :class:`ExpiryResult`."""
    from weixi.ledger.expire import ExpiryResult

    found = call(engine, "expire", {"as_of": as_of.isoformat()})
    return ExpiryResult(date.fromisoformat(found["as_of"]), found["lots"], found["points"], found["members"])


def points_earned(engine: Engine, month: str, out: Path) -> int:
    """:func:`weixi.close.ledger_bridge.points_earned` of ``month`` written to the Parquet file ``out``; its rows."""
    return call(engine, "points_earned", {"month": month, "out": str(out)})


def balances(engine: Engine, out: Path) -> int:
    """:func:`weixi.close.ledger_bridge.balances` written to the Parquet file ``out``; its rows."""
    return call(engine, "balances", {"out": str(out)})


def set_tiers(engine: Engine, source: Path) -> int:
    """:func:`weixi.close.ledger_bridge.set_tiers` of the tiers (``member_id``, ``tier``) in the Parquet file
    ``source``; nothing to do (no process started) when it has no rows."""
    import pyarrow.parquet as pq

    if pq.read_metadata(str(source)).num_rows == 0:
        return 0
    return call(engine, "set_tiers", {"source": str(source)})


def summary(
    engine: Engine,
    data_dir: Path,
    month: str,
    version: int,
    snapshot_file: Path,
    events_file: list[str],
    stars_file: Path,
    budget: int | None,
) -> dict:
    """The close summary (:func:`weixi.close.snapshot.summarize`, the star events' counts, the programme figures)
    counted from the month's written files and the ledger, as the DuckDB close counts it."""
    args = {
        "data_dir": str(data_dir),
        "month": month,
        "version": version,
        "snapshot_file": [str(f) for f in snapshot_file] if isinstance(snapshot_file, list) else str(snapshot_file),
        "events_file": [str(f) for f in events_file],
        "stars_file": str(stars_file),
        "budget": budget,
    }
    return call(engine, "summary", args)


def search_index(engine: Engine, data_dir: Path) -> dict:
    """:func:`weixi.adapters.search_index.build` of ``data_dir``; nothing to do (no process started) when the index
    is fresh."""
    from weixi.adapters import search_index as index

    fresh = index.fresh(data_dir)
    if fresh is not None:
        return {"path": str(fresh), "rebuilt": False}
    return call(engine, "search_index", {"data_dir": str(data_dir)})


def call(engine: Engine, op: str, args: dict, progress: Callable[[int], None] | None = None) -> Any:
    """Run ``op`` on the ledger of ``engine`` in the session's child (:func:`session`), else in a child of its own
    (in this process for an in-memory ledger); its result as JSON gives it (the same either way)."""
    url = _url(engine)
    if url is None:
        return _plain(OPS[op](engine, progress, **args))
    request = json.dumps({"db": url, "op": op, "args": args}) + "\n"
    serving = _SESSION.get()
    if serving is not None and serving.url == url:
        return serving.child().ask(request, op, progress)
    child = _Child(url)
    try:
        return child.ask(request, op, progress, last=True)
    finally:
        child.close()


class _Child:
    """A ledger process: requests written a line each, answered in turn."""

    def __init__(self, url: str, serve: bool = False) -> None:
        self.url = url
        self._errors: IO[str] = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        command = [*COMMAND, "--session"] if serve else COMMAND
        self._child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, text=True, env=_env()
        )

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    def ask(self, request: str, op: str, progress: Callable[[int], None] | None, last: bool = False) -> Any:
        """Send ``request`` (``last``: then the end of the input) and read the child's lines up to its answer."""
        try:
            self._child.stdin.write(request)
            if last:
                self._child.stdin.close()
            else:
                self._child.stdin.flush()
        except (BrokenPipeError, OSError):  # the child is gone: its missing answer and exit status say why
            pass
        answer = None
        try:
            while answer is None:
                line = self._child.stdout.readline()
                if not line:  # the child ended without an answer
                    break
                message = _message(line)
                if "progress" in message and progress:
                    progress(int(message["progress"]))
                elif "result" in message or "error" in message:
                    answer = message
        except BaseException:  # the driver stops (interrupted, or its progress callback failed): so does the child
            self._child.kill()
            self._child.wait()
            raise
        if answer is None or (last and self._child.wait() != 0 and "error" not in answer):
            status = self._child.wait()
            self._errors.seek(0)
            reason = (self._errors.read().strip().splitlines() or [f"exit status {status}"])[-1]
            raise LedgerProcessFailed("close_ledger_process_failed", step=op, reason=reason)
        if "error" in answer:
            raise _raised(answer["error"])
        return answer["result"]

    def close(self) -> None:
        """The end of the child's input: it ends (killed if it has not within a minute)."""
        ledger_proc.end_process(self._child, 60)
        self._errors.close()


class _Session:
    """The child serving a session's calls; one that has died since its last answer (killed by the system, say)
    is replaced for the next call (each call is a step the close can run again)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._child = _Child(url, serve=True)

    def child(self) -> _Child:
        if not self._child.alive:
            self._child.close()
            self._child = _Child(self.url, serve=True)
        return self._child

    def close(self) -> None:
        self._child.close()


_SESSION: ContextVar[_Session | None] = ContextVar("weixi_offload_session", default=None)


@contextmanager
def session(engine: Engine) -> Iterator[None]:
    """Serve this thread's calls on the engine's ledger from one child until the block ends (for a ledger in
    memory, nothing: its calls run in this process)."""
    with ledger_proc.scoped(_SESSION, _url(engine), _Session):
        yield


def _url(engine: Engine) -> str | None:
    """The URL another process opens the same ledger by (with its password); None for an in-memory ledger."""
    if sqlite_file(engine) is None and engine.dialect.name != "postgresql":
        return None
    return engine.url.render_as_string(hide_password=False)


def _env() -> dict:
    """This process's environment, the child importing the same ``weixi`` as this process."""
    import weixi

    src = str(Path(weixi.__file__).resolve().parents[1])
    env = dict(os.environ)  # not a setting: the interpreter's own search path, passed on with this weixi first
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def _message(line: str) -> dict:
    try:
        found = json.loads(line)
    except ValueError:  # not one of the child's messages
        return {}
    return found if isinstance(found, dict) else {}


def _raised(error: dict) -> WeixiError:
    """The child's refusal as the same class, code and params in this process."""
    cls: Any = importlib.import_module(error["module"])
    for part in error["class"].split("."):
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and issubclass(cls, WeixiError)):
        cls = LedgerProcessFailed
    exc = cls.__new__(cls)
    WeixiError.__init__(exc, error["code"], None, **error["params"])
    return exc


def _plain(result: Any) -> Any:
    return json.loads(json.dumps(result, default=str))


# -- the child's side ---------------------------------------------------------------------------------------------


def _plan(engine: Engine, version: int):
    """The plan of ``version`` (the one the driver's close runs with, whatever is active now)."""
    from weixi.plans.service import check_text
    from weixi.plans.service import version as plan_version

    found = plan_version(engine, version)
    if found is None:
        raise NotFound("plan_version_not_found", version=version)
    return check_text(found["content"], found["source"])


def _accrue(engine: Engine, progress, data_dir: str, month: str, version: int) -> dict:
    from zoneinfo import ZoneInfo

    from weixi.close.accrual import accrue as accrue_month

    plan = _plan(engine, version)
    return accrue_month(engine, Path(data_dir), month, ZoneInfo(plan.timezone), progress, plan, version).__dict__


def _expire(engine: Engine, progress, as_of: str) -> dict:
    from weixi.ledger.expire import expire as expire_lots

    found = expire_lots(engine, date.fromisoformat(as_of))
    return {"as_of": found.as_of.isoformat(), "lots": found.lots, "points": found.points, "members": found.members}


def _write(table, out: str) -> int:
    import pyarrow.parquet as pq

    pq.write_table(table, out)
    return table.num_rows


def _points_earned(engine: Engine, progress, month: str, out: str) -> int:
    from weixi.close import ledger_bridge

    return _write(ledger_bridge.points_earned(engine, month), out)


def _balances(engine: Engine, progress, out: str) -> int:
    from weixi.close import ledger_bridge

    return _write(ledger_bridge.balances(engine), out)


def _set_tiers(engine: Engine, progress, source: str) -> int:
    import pyarrow.parquet as pq

    from weixi.close import ledger_bridge

    return ledger_bridge.set_tiers(engine, pq.read_table(source, columns=["member_id", "tier"]))


def _summary(
    engine: Engine, progress, data_dir, month, version, snapshot_file, events_file, stars_file, budget
) -> dict:
    from weixi.adapters import duck
    from weixi.close import ledger_bridge, programme
    from weixi.close.run import star_event_counts
    from weixi.close.snapshot import summarize

    plan = _plan(engine, version)
    lake = programme.lake_of(engine, month)  # the lake's unfolded rows, read once for both
    totals = ledger_bridge.month_totals(engine, month, lake)
    con = duck.connect()
    try:
        duck.bound_memory(con, Path(data_dir))
        return {
            **summarize(con, snapshot_file, events_file, totals, plan),
            "star_events": star_event_counts(con, Path(stars_file)),
            "programme": programme.close_figures(engine, con, snapshot_file, month, plan, budget, lake),
        }
    finally:
        con.close()


def _search_index(engine: Engine, progress, data_dir: str) -> dict:
    from weixi.adapters import search_index as index

    return index.build(Path(data_dir))


OPS: dict[str, Callable[..., Any]] = {
    "accrue": _accrue,
    "expire": _expire,
    "points_earned": _points_earned,
    "balances": _balances,
    "set_tiers": _set_tiers,
    "summary": _summary,
    "search_index": _search_index,
}


def _die_with_parent() -> None:
    """Linux: the child is killed when the driver dies (a kill -9 of the close leaves no accrual running on)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


def _say(message: dict) -> None:
    print(json.dumps(message, default=str), flush=True)


def main() -> int:
    """Answer each request line of the standard input in turn until it ends; ``--session``: inside one ledger
    process for the ADBC reads and writes of all of them (:func:`weixi.close.ledger_proc.session`)."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the driver died before the line above
        return 1
    from contextlib import ExitStack

    from weixi.adapters.db import make_engine

    engines: dict[str, Engine] = {}
    status = 0
    with ExitStack() as stack:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            engine = engines.get(request["db"])
            if engine is None:
                engine = engines[request["db"]] = make_engine(request["db"])
                stack.callback(engine.dispose)
                if "--session" in sys.argv[1:]:
                    stack.enter_context(ledger_proc.session(engine))
            try:
                result = OPS[request["op"]](engine, lambda n: _say({"progress": n}), **request["args"])
            except WeixiError as exc:
                kind = type(exc)
                error = {"module": kind.__module__, "class": kind.__qualname__, "code": exc.code, "params": exc.params}
                _say({"error": error})
                status = 1
                continue
            _say({"result": result})
    return status


if __name__ == "__main__":
    sys.exit(main())
