"""The monthly close as a background job: start it, watch its progress, read its result.

A job runs :func:`weixi.close.run.close_month` in a thread of the serving process and records its state in
the ``close_jobs`` table: ``running`` → ``succeeded`` (result = the close's manifest), ``refused`` (months
close in order, inputs missing: error + result.missing) or ``failed``. One job runs at a time. A job left
``running`` by a server that stopped is marked failed at the next start; starting it again is safe because
the close is idempotent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.errors import Conflict, NotFound, Problem, Unavailable, WeixiError
from weixi.users.service import User

log = logging.getLogger("weixi.close_jobs")
LIVE = ("running",)
PROGRESS_EVERY_SECONDS = 0.5
_start_lock = threading.Lock()


class JobConflict(Conflict):
    """A close is already running: one at a time."""

    @property
    def job_id(self) -> str:
        return self.params["job"]


COLS = "id, month, status, progress, result, error, requested_by, created_at, started_at, finished_at"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _job(row) -> dict:
    """A job as the API shows it. A refused or failed job has its ``error`` in English and, beside it, the
    ``error_code`` and ``error_params`` a page renders in its reader's language (kept in ``result.problem``)."""
    jid, month, status, progress, result, error, by, created, started, finished = row
    result = json.loads(result) if result else None
    problem = result.pop("problem", None) if isinstance(result, dict) else None
    if result == {}:
        result = None
    return {
        "id": jid,
        "month": month,
        "status": status,
        "progress": json.loads(progress) if progress else None,
        "result": result,
        "error": error,
        "error_code": problem["code"] if problem else None,
        "error_params": problem["params"] if problem else None,
        "requested_by": by,
        "created_at": _iso(created),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
    }


def problem_of(job: dict) -> Problem | None:
    """The coded error of a refused or failed job (None for a job without one, e.g. recorded before codes)."""
    if not job.get("error_code"):
        return None
    return Problem(job["error_code"], job.get("error_params") or {})


def _recorded(exc: BaseException) -> tuple[str, dict]:
    """What a failed job records: the English sentence and the problem (code and params) for other languages."""
    if isinstance(exc, WeixiError):
        return str(exc), exc.problem.to_json()
    first = str(exc).splitlines()[0] if str(exc) else ""
    error = JobFailed("close_job_failed", error=exc.__class__.__name__, reason=first)
    return str(error), error.problem.to_json()


class JobNotFound(NotFound):
    """No close job has this id."""


class JobFailed(Unavailable):
    """A close that stopped on an error (recorded on its job, never raised to a caller): it is safe to start again."""


def get(engine: Engine, job_id: str) -> dict | None:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, f"SELECT {COLS} FROM close_jobs WHERE id = ?", [job_id])
    return _job(rows[0]) if rows else None


def recent(engine: Engine, limit: int = 20) -> list[dict]:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, f"SELECT {COLS} FROM close_jobs ORDER BY created_at DESC, id LIMIT ?", [limit])
    return [_job(r) for r in rows]


def _update(engine: Engine, job_id: str, **fields) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    values = [
        json.dumps(v, ensure_ascii=False, default=str) if k in ("progress", "result") and v is not None else v
        for k, v in fields.items()
    ]
    with engine.begin() as conn:
        execute(conn, f"UPDATE close_jobs SET {sets} WHERE id = ?", [*values, job_id])


def start(
    engine: Engine, data_dir: Path, month: str, user: User | None, engine_name: str = "duckdb", background: bool = True
) -> dict:
    """Record a job for ``month`` and run it (in a daemon thread unless ``background`` is False)."""
    from weixi.close.months import parse_month

    parse_month(month)  # ValueError for a bad month, before anything is recorded
    job_id = uuid.uuid4().hex
    with _start_lock, engine.begin() as conn:
        live = execute(conn, "SELECT id, month FROM close_jobs WHERE status = ?", ["running"])
        if live:
            raise JobConflict("close_already_running", month=live[0][1], job=live[0][0])
        execute(
            conn,
            "INSERT INTO close_jobs (id, month, status, progress, requested_by, created_at, started_at) "
            "VALUES (?,?,?,?,?,?,?)",
            [
                job_id,
                month,
                "running",
                json.dumps({"step": None, "steps_done": 0, "steps": 6, "rows": 0}),
                user.username if user else None,
                _now(),
                _now(),
            ],
        )
    if background:
        threading.Thread(
            target=run, args=(engine, Path(data_dir), job_id, month, engine_name), name=f"close-{month}", daemon=True
        ).start()
    else:
        run(engine, Path(data_dir), job_id, month, engine_name)
    return get(engine, job_id)


def run(engine: Engine, data_dir: Path, job_id: str, month: str, engine_name: str = "duckdb") -> None:
    from weixi.close.run import STEPS, CloseRefused, Progress, close_month
    from weixi.plans.service import NoActivePlan

    state = {"step": None, "steps_done": 0, "steps": len(STEPS), "rows": 0}
    last = [0.0]

    def flush(force: bool = False) -> None:
        now = time.monotonic()
        if force or now - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = now
            _update(engine, job_id, progress=dict(state))

    def on_step(name: str) -> None:
        if state["step"] is not None:
            state["steps_done"] += 1
        state["step"] = name
        flush(force=True)

    def on_advance(n: int) -> None:
        state["rows"] += n
        flush()

    try:
        result = close_month(engine, data_dir, month, engine_name, Progress(on_step, on_advance))
    except CloseRefused as exc:
        _update(
            engine,
            job_id,
            status="refused",
            error=str(exc),
            result={"missing": exc.missing, "problem": exc.problem.to_json()},
            progress=state,
            finished_at=_now(),
        )
    except NoActivePlan as exc:
        problem = exc.problem.to_json() if isinstance(exc, WeixiError) else None
        _update(
            engine,
            job_id,
            status="refused",
            error=str(exc),
            result={"problem": problem} if problem else None,
            progress=state,
            finished_at=_now(),
        )
    except Exception as exc:  # recorded for the operator; the traceback goes to the server log
        log.exception("close job %s (%s) failed", job_id, month)
        error, problem = _recorded(exc)
        _update(
            engine,
            job_id,
            status="failed",
            progress=state,
            finished_at=_now(),
            error=error,
            result={"problem": problem},
        )
    else:
        state["steps_done"] = state["steps"]
        _update(engine, job_id, status="succeeded", result=result, progress=state, finished_at=_now())


def fail_interrupted(engine: Engine) -> int:
    """Mark jobs left running by a stopped server as failed; returns how many."""
    with engine.begin() as conn:
        rows = execute(conn, "SELECT id FROM close_jobs WHERE status = ?", ["running"])
        for (jid,) in rows:
            error = JobFailed("close_job_interrupted")
            execute(
                conn,
                "UPDATE close_jobs SET status = ?, error = ?, result = ?, finished_at = ? WHERE id = ?",
                ["failed", str(error), json.dumps({"problem": error.problem.to_json()}), _now(), jid],
            )
    return len(rows)
