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
from weixi.users.service import User

log = logging.getLogger("weixi.close_jobs")
LIVE = ("running",)
PROGRESS_EVERY_SECONDS = 0.5
_start_lock = threading.Lock()


class JobConflict(Exception):
    def __init__(self, message: str, job_id: str):
        super().__init__(message)
        self.job_id = job_id


COLS = "id, month, status, progress, result, error, requested_by, created_at, started_at, finished_at"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _job(row) -> dict:
    jid, month, status, progress, result, error, by, created, started, finished = row
    return {"id": jid, "month": month, "status": status, "progress": json.loads(progress) if progress else None,
            "result": json.loads(result) if result else None, "error": error, "requested_by": by,
            "created_at": _iso(created), "started_at": _iso(started), "finished_at": _iso(finished)}


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
    values = [json.dumps(v, ensure_ascii=False, default=str) if k in ("progress", "result") and v is not None else v
              for k, v in fields.items()]
    with engine.begin() as conn:
        execute(conn, f"UPDATE close_jobs SET {sets} WHERE id = ?", [*values, job_id])


def start(engine: Engine, data_dir: Path, month: str, user: User | None, engine_name: str = "duckdb",
          background: bool = True) -> dict:
    """Record a job for ``month`` and run it (in a daemon thread unless ``background`` is False)."""
    from weixi.close.months import parse_month

    parse_month(month)  # ValueError for a bad month, before anything is recorded
    job_id = uuid.uuid4().hex
    with _start_lock, engine.begin() as conn:
        live = execute(conn, "SELECT id, month FROM close_jobs WHERE status = ?", ["running"])
        if live:
            raise JobConflict(f"the close of {live[0][1]} is still running (job {live[0][0]})", live[0][0])
        execute(conn, "INSERT INTO close_jobs (id, month, status, progress, requested_by, created_at, started_at) "
                      "VALUES (?,?,?,?,?,?,?)",
                [job_id, month, "running", json.dumps({"step": None, "steps_done": 0, "steps": 6, "rows": 0}),
                 user.username if user else None, _now(), _now()])
    if background:
        threading.Thread(target=run, args=(engine, Path(data_dir), job_id, month, engine_name),
                         name=f"close-{month}", daemon=True).start()
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
        _update(engine, job_id, status="refused", error=str(exc), result={"missing": exc.missing},
                progress=state, finished_at=_now())
    except NoActivePlan as exc:
        _update(engine, job_id, status="refused", error=str(exc), progress=state, finished_at=_now())
    except Exception as exc:  # recorded for the operator; the traceback goes to the server log
        log.exception("close job %s (%s) failed", job_id, month)
        _update(engine, job_id, status="failed", progress=state, finished_at=_now(),
                error=f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                      "(details in the server log; the close is safe to start again)")
    else:
        state["steps_done"] = state["steps"]
        _update(engine, job_id, status="succeeded", result=result, progress=state, finished_at=_now())


def fail_interrupted(engine: Engine) -> int:
    """Mark jobs left running by a stopped server as failed; returns how many."""
    with engine.begin() as conn:
        rows = execute(conn, "SELECT id FROM close_jobs WHERE status = ?", ["running"])
        for (jid,) in rows:
            execute(conn, "UPDATE close_jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                    ["failed", "interrupted: the server stopped during the close; start it again (the close "
                               "resumes safely)", _now(), jid])
    return len(rows)
