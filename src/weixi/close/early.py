"""The close's first DuckDB work, begun while the command starts: ``weixi close`` stages the month's bills and
recharges (:func:`stage`, the accrual's ``acc_all``) in a thread of its own from the moment its arguments are read
(:func:`start`, called by :mod:`weixi.entry` before it imports the CLI), while the interpreter imports the
command's modules on one core. The accrual takes that connection (:func:`take`) when it staged the very rows the
accrual would stage now (the same SQL: the same files of the month, the same corrections loaded), and stages them
itself otherwise.

Measured at 1,000,000 members (1,795,505 rows, about 1.4 CPU-seconds of DuckDB): the imports keep one core of two
busy for about 0.6 s; beside the staging they take 0.6-1.1 s, and the accrual step 2.0-2.2 s instead of 2.4-2.7 s.
End to end the gain (0.2 s in the median of eight alternated pairs) is within the machine's noise (BENCHMARKS.md,
2026-12-07). This module and what :func:`stage` needs import no PyArrow, Ibis or SQLAlchemy, so DuckDB starts
within about 0.15 s of the command.

Only the close on DuckDB into the lake (``WEIXI_LEDGER_STORE=lake``, the accrual not forced to the batches) of a
month whose close is not recorded is staged. The recharges' days need the plan's time zone, which is read later:
they are staged without one and set then (:func:`weixi.close.accrual_order.set_days`). Work not taken (a close
refused, a rerun whose accrual is done, the plan's rules left to the SQL path) is interrupted and dropped when the
command ends (:func:`discard`).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from weixi import settings
from weixi.close import layout

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_lock = threading.Lock()
_job: dict = {}  # thread, key (data dir, month), sql, con, error


def options(args: list[str]) -> dict[str, str]:
    """The ``--name value`` and ``--name=value`` options of ``weixi close`` ``args`` (the command's name first)."""
    found: dict[str, str] = {}
    rest = iter(args[1:])
    for arg in rest:
        if arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            found[name] = value
        elif arg.startswith("--"):
            found[arg[2:]] = next(rest, "")
    return found


def start(args: list[str]) -> bool:
    """Begin staging the month ``weixi close`` ``args`` names, in a thread; whether it began (not when the month
    is not a month, the engine is not DuckDB, the accrual does not go to the lake, or the data directory holds no
    bills)."""
    found = options(args)
    month = found.get("month", "")
    if not _MONTH.match(month) or found.get("engine", "duckdb") != "duckdb":
        return False
    if settings.LEDGER_STORE.value() != "lake" or settings.ACCRUAL.value() == "batches":
        return False
    data_dir = Path(found.get("data") or settings.DATA.value())
    if not (data_dir / "bills").is_dir():  # no archive there (nothing made for a close that will be refused)
        return False
    if closed(data_dir, month):  # a rerun, which reads the manifest only (beside the staging, 1.2 s against 0.7 s)
        return False
    discard()  # one at a time
    thread = threading.Thread(target=_stage_early, args=(data_dir, month), name="weixi-early-stage", daemon=True)
    with _lock:
        _job.clear()
        _job.update(thread=thread, key=_key(data_dir, month))
    thread.start()
    return True


def closed(data_dir: Path, month: str) -> bool:
    """Whether a close of ``month`` was recorded in ``data_dir``: its partition of the closes' table is there (a
    folder test: reading the table would import PyArrow). A partition left by a close that is not ``closed`` only
    makes the accrual stage its rows itself."""
    return layout.partition(data_dir, layout.CLOSES, month).is_dir()


def stage(con, data_dir: Path, month: str) -> str:
    """Stage the month's rows as ``acc_all`` on ``con`` (:func:`weixi.close.accrual_order.stage_sql` of
    :func:`~weixi.close.accrual_order.rows_sql`, the recharges without their day), its memory bounded as the
    close's; the SQL it ran."""
    from weixi.adapters import duck
    from weixi.close import accrual_order

    sql = accrual_order.stage_sql(accrual_order.rows_sql(data_dir, month))
    duck.bound_memory(con, data_dir)
    con.execute("SET preserve_insertion_order = true")  # the default, said: the posted rows' order depends on it
    con.execute(sql)
    return sql


def _stage_early(data_dir: Path, month: str) -> None:
    from weixi.adapters import duck

    con = None
    try:
        con = duck.connect()
        with _lock:
            _job["con"] = con  # (discard interrupts it)
        _job["sql"] = stage(con, data_dir, month)
    except BaseException as exc:  # noqa: BLE001  (the accrual stages the rows itself, and meets the error there)
        _job["error"] = exc


def take(data_dir: Path, month: str):
    """The connection :func:`start` staged ``month`` of ``data_dir`` on, when it staged the rows the accrual
    would stage now; else None (and the early work dropped)."""
    with _lock:
        thread = _job.get("thread")
    if thread is None:
        return None
    thread.join()
    with _lock:
        job = dict(_job)
        _job.clear()
    con = job.get("con")
    if con is None:
        return None
    if (
        job.get("error") is None
        and job.get("key") == _key(data_dir, month)
        and job.get("sql") == _expected(data_dir, month)
    ):
        return con
    con.close()
    return None


def discard() -> None:
    """Stop and drop early work nobody took (a close refused or done before its accrual): its statement is
    interrupted until the thread ends (an interrupt that comes between two statements is lost)."""
    with _lock:
        thread = _job.get("thread")
    if thread is None:
        return
    while thread.is_alive():
        with _lock:
            con = _job.get("con")
        if con is not None:
            con.interrupt()
        thread.join(0.05)
    with _lock:
        con = _job.get("con")
        _job.clear()
    if con is not None:
        con.close()


def _key(data_dir: Path, month: str) -> tuple[str, str]:
    return str(Path(data_dir).resolve()), month


def _expected(data_dir: Path, month: str) -> str:
    from weixi.close import accrual_order

    return accrual_order.stage_sql(accrual_order.rows_sql(data_dir, month))


__all__ = ["closed", "discard", "options", "stage", "start", "take"]
