"""The analyst's retention jobs as background jobs: train a churn model, score a month, build the month's target
lists — one after another in one job when asked (train, then score, then build).

A job runs the same services as ``weixi churn train|score`` and ``weixi targets build`` in a daemon thread of the
serving process and records its state as one JSON file per job (``DATA/churn/jobs/<id>.json``, replaced
atomically): ``running`` → ``succeeded`` (``result`` holds each step's summary), ``refused`` (a coded
:class:`weixi.errors.WeixiError` from a service: month not ready, not scored, no model, …) or ``failed`` (an
unexpected error, kept as ``analyst_job_failed``). A job left ``running`` by a process that stopped reads as
``failed`` with ``analyst_job_interrupted``. One job runs at a time per data directory.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine

from weixi.errors import Conflict, Invalid, NotFound, Problem, Unavailable, WeixiError
from weixi.segments import months as month_names
from weixi.users.service import User, audit

log = logging.getLogger("weixi.analyst_jobs")
STEPS = ("train", "score", "build")
AUDIT_ACTIONS = {"train": "churn.train", "score": "churn.score", "build": "targets.build"}
_lock = threading.Lock()


class AnalystJobNotFound(NotFound):
    """No analyst job has this id."""


class AnalystJobConflict(Conflict):
    """An analyst job is already running: one at a time."""

    @property
    def job_id(self) -> str:
        return self.params["job"]


class AnalystJobInvalid(Invalid):
    """A job request that cannot run (no step asked, a month that is not YYYY-MM)."""


class AnalystJobFailed(Unavailable):
    """A job that stopped on an unexpected error (recorded on the job, never raised to a caller)."""


def root(data_dir: Path) -> Path:
    return Path(data_dir) / "churn" / "jobs"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write(data_dir: Path, job: dict) -> None:
    folder = root(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{job['id']}.tmp"
    tmp.write_text(json.dumps(job, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, folder / f"{job['id']}.json")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> dict | None:
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if job.get("status") == "running" and not _alive(job.get("pid")):
        job = {
            **job,
            "status": "failed",
            "problem": {"code": "analyst_job_interrupted", "params": {}},
        }
    return job


def get(data_dir: Path, job_id: str) -> dict:
    if len(job_id) != 32 or not all(c in "0123456789abcdef" for c in job_id):
        raise AnalystJobNotFound("analyst_job_not_found", job=job_id[:64])
    job = _read(root(data_dir) / f"{job_id}.json")
    if job is None:
        raise AnalystJobNotFound("analyst_job_not_found", job=job_id)
    return job


def recent(data_dir: Path, limit: int = 10) -> list[dict]:
    """The latest jobs, newest first."""
    folder = root(data_dir)
    if not folder.is_dir():
        return []
    jobs = [j for j in (_read(p) for p in folder.glob("*.json")) if j is not None]
    jobs.sort(key=lambda j: (j.get("created_at") or "", j["id"]), reverse=True)
    return jobs[:limit]


def problem_of(job: dict) -> Problem | None:
    p = job.get("problem")
    return Problem(p["code"], p.get("params") or {}) if p else None


def start(
    engine: Engine,
    data_dir: Path,
    user: User | None,
    steps: list[str],
    train_month: str | None = None,
    month: str | None = None,
    version: int | None = None,
    background: bool = True,
) -> dict:
    """Record a job of ``steps`` (in :data:`STEPS` order) and run it: ``train`` on the archive known at the end of
    ``train_month``; ``score`` ``month`` (with ``version``, else the model just trained, else the latest);
    ``build`` ``month``'s target lists. Each step is written to the audit log as its CLI command would be."""
    steps = [s for s in STEPS if s in steps]
    if not steps:
        raise AnalystJobInvalid("analyst_job_no_step")
    if "train" in steps:
        month_names.check(train_month or "")
    if "score" in steps or "build" in steps:
        month_names.check(month or "")
    job_id = uuid.uuid4().hex
    job = {
        "id": job_id,
        "steps": steps,
        "train_month": train_month if "train" in steps else None,
        "month": month if ("score" in steps or "build" in steps) else None,
        "version": version,
        "status": "running",
        "step": steps[0],
        "steps_done": 0,
        "result": {},
        "problem": None,
        "requested_by": user.username if user else None,
        "created_at": _now(),
        "finished_at": None,
        "pid": os.getpid(),
    }
    with _lock:
        live = next((j for j in recent(data_dir, 50) if j["status"] == "running"), None)
        if live is not None:
            raise AnalystJobConflict("analyst_job_running", job=live["id"])
        _write(data_dir, job)
    for step in steps:
        subject = job["train_month"] if step == "train" else job["month"]
        audit(engine, user, AUDIT_ACTIONS[step], subject, {"job": job_id, "version": version})
    db = engine.url.render_as_string(hide_password=False)
    if background:
        threading.Thread(target=run, args=(Path(data_dir), job, db), name=f"analyst-{job_id[:8]}", daemon=True).start()
        return job
    run(Path(data_dir), job, db)
    return get(data_dir, job_id)


def _step(data_dir: Path, job: dict, step: str, db: str) -> dict:
    from weixi.churn import service as churn
    from weixi.targets import service as targets

    if step == "train":
        out = churn.train_operator(data_dir, job["train_month"], None, db)
        job["trained_version"] = out["model_version"]
        keep = ("model", "model_version", "auc", "pr_auc", "lift_top_decile", "brier", "rows", "feature_months")
        return {k: out.get(k) for k in keep}
    if step == "score":
        out = churn.score_month(data_dir, job["month"], job.get("trained_version") or job.get("version"), db)
        keep = ("month", "members", "model_version", "mean_probability", "expected_leavers", "horizon_months")
        return {k: out.get(k) for k in keep}
    out = targets.build(data_dir, job["month"])
    return {"month": out["month"], "members": out["members"], "lists": out["lists"]}


def run(data_dir: Path, job: dict, db: str) -> None:
    """Run the job's steps in order, recording progress after each; never raises."""
    try:
        for step in job["steps"]:
            job["step"] = step
            _write(data_dir, job)
            job["result"][step] = _step(data_dir, job, step, db)
            job["steps_done"] += 1
            _write(data_dir, job)
        job["status"] = "succeeded"
    except WeixiError as exc:
        job["status"] = "refused"
        job["problem"] = exc.problem.to_json()
    except Exception as exc:  # recorded on the job for the page; the trace goes to the log
        log.exception("analyst job %s failed", job["id"])
        reason = str(exc).splitlines()[0] if str(exc) else ""
        failed = AnalystJobFailed("analyst_job_failed", error=exc.__class__.__name__, reason=reason[:200])
        job["status"] = "failed"
        job["problem"] = failed.problem.to_json()
    job["finished_at"] = _now()
    _write(data_dir, job)


def months(data_dir: Path) -> dict:
    """The months the job forms offer, newest first: ``train`` (archive months whose history trains a model) and
    ``score`` (every month of the archive's usage)."""
    from weixi.churn import features, operator

    data_dir = Path(data_dir)
    if not features.has_table(data_dir, "members"):
        return {"train": [], "score": []}
    con = features.connect()
    try:
        have = operator.available_months(con, data_dir)
    finally:
        con.close()
    train = [m for m in have if operator.feature_months(have, m)]
    return {"train": train[::-1], "score": have[::-1]}
