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

The child's memory goes back to the system when it exits, so the driver's peak does not grow with the members
(``benchmarks/bench_spark_memory.py``). A request is one JSON object on the child's standard input; the child prints
``{"progress": n}`` lines (the accrual's chunks) and then ``{"result": ...}`` or ``{"error": ...}`` (a
:class:`~weixi.errors.WeixiError`'s class, code and params, raised again in the driver as the same class). An
in-memory ledger, which no other process can open, is served in this process. Every step is idempotent as in the
DuckDB close: a child that dies leaves what it committed, and the rerun of the close finishes the month.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine

from weixi.adapters.db import sqlite_file
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
        "snapshot_file": str(snapshot_file),
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
    """Run ``op`` in a child process on the ledger of ``engine`` (in this process for an in-memory ledger); its
    result as JSON gives it (the same either way)."""
    url = _url(engine)
    if url is None:
        return _plain(OPS[op](engine, progress, **args))
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errors:
        child = subprocess.Popen(
            COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, env=_env()
        )
        child.stdin.write(json.dumps({"db": url, "op": op, "args": args}))
        child.stdin.close()
        answer = None
        try:
            for line in child.stdout:
                message = _message(line)
                if "progress" in message and progress:
                    progress(int(message["progress"]))
                elif "result" in message or "error" in message:
                    answer = message
        except BaseException:  # the driver stops (interrupted, or its progress callback failed): so does the child
            child.kill()
            child.wait()
            raise
        status = child.wait()
        if answer is not None and "error" in answer:
            raise _raised(answer["error"])
        if status != 0 or answer is None:
            errors.seek(0)
            reason = (errors.read().strip().splitlines() or [f"exit status {status}"])[-1]
            raise LedgerProcessFailed("close_ledger_process_failed", step=op, reason=reason)
    return answer["result"]


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
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the driver died before the line above
        return 1
    from weixi.adapters.db import make_engine

    request = json.loads(sys.stdin.read())
    engine = make_engine(request["db"])
    try:
        result = OPS[request["op"]](engine, lambda n: _say({"progress": n}), **request["args"])
    except WeixiError as exc:
        kind = type(exc)
        _say({"error": {"module": kind.__module__, "class": kind.__qualname__, "code": exc.code, "params": exc.params}})
        return 1
    finally:
        engine.dispose()
    _say({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
