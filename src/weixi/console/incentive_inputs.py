"""Upload a month's incentive inputs in the console (issue 18 §1: computing a month needs no shell): the month's
orders, target list or roster, as CSV or Parquet like ``weixi incentives compute`` takes them, checked by the
engine itself before anything in the data folder changes.

* The file is received into a folder of its own inside the data directory, never over the month's file.
* It is checked with the compute's own loaders: the orders by computing the month with it in place (the month's
  plans, targets and roster, a staging copy of its folder), the target list and the roster by their loaders
  (:func:`weixi.incentives.inputs.load_targets`, :func:`~weixi.incentives.inputs.load_roster`).
* A file the compute cannot use at all (unreadable, a required column missing, a bad roster or target row: these
  stop a run) is refused beside the form with every bad row, by row and field, in the reader's language; the
  month's file is unchanged. Bad *order* rows do not stop a run: the file is installed, its good rows count, and
  the rejected rows are listed with their row, field and reason, to fix and upload again.
* Installing is a rename into ``DATA/incentives/YYYY-MM/NAME.csv|.parquet`` (the other suffix of the same input
  removed after it): a reader sees the old file or the new one, never half of one. A month without plans yet takes
  the plans of the latest earlier month that has them (copied, then renamed in, after the input file).
* Permission ``incentives:publish``; every upload is audited (``incentives.upload``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from weixi.adapters import duck
from weixi.console import upload_files
from weixi.console.guard import page_user
from weixi.console.upload_files import clean_name
from weixi.errors import Conflict, Invalid, Problem, WeixiError
from weixi.i18n import N_
from weixi.incentives import inputs, reports
from weixi.incentives import service as svc
from weixi.incentives.months import Month
from weixi.users.service import User, audit

router = APIRouter()
# The inputs the page takes, in the order of its choices, with what they are called.
KINDS = {
    "orders": N_("Orders (the CRM's retention orders)"),
    "targets": N_("Target list (expiring customers)"),
    "roster": N_("Roster of the month"),
}
SUFFIXES = (".csv", ".parquet")
ISSUES_SHOWN = 50
ROW = re.compile(r"^row (\d+): ")


async def receive(upload, kind: str, folder: Path) -> tuple[str, Path, str]:
    """The uploaded file stored in ``folder`` as ``kind`` with its suffix: (the person's file name, the stored
    path, its SHA-256); refused: an unknown input, no file, another file type, an empty or too large file."""
    if kind not in KINDS:
        raise Invalid("incentive_upload_unknown_input", input=kind[:32], inputs=list(KINDS))
    if upload is None or not getattr(upload, "filename", None):
        raise Invalid("upload_no_file")
    name = clean_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Invalid("upload_wrong_file_type", file=name, types=list(SUFFIXES))
    path = folder / f"{kind}{suffix}"
    return name, path, await upload_files.save_stream(upload, path, name)


def plans_from(data_dir: Path, month: str) -> tuple[str | None, list[Path]]:
    """The month's own plans, else those of the latest earlier month that has plans (and that month)."""
    own = reports.month_inputs(data_dir, month)["plans"]
    if own:
        return None, own
    base = Path(data_dir) / "incentives"
    earlier = sorted(
        (p.name for p in base.iterdir() if p.is_dir() and p.name < month and any(p.glob("*.yaml")))
        if base.is_dir()
        else []
    )
    if not earlier:
        raise Conflict("incentive_upload_no_plans", month=month)
    return earlier[-1], reports.month_inputs(data_dir, earlier[-1])["plans"]


def _rows(path: Path, kind: str) -> int:
    columns = {"orders": inputs.ORDER_COLUMNS, "targets": inputs.TARGET_COLUMNS, "roster": inputs.ROSTER_COLUMNS}
    return int(duck.rows(f"SELECT count(*) FROM ({inputs.scan(path, kind, columns[kind], ())})")[0][0])


def _issue(item: dict) -> dict:
    """A rejected or duplicate order of the compute (its JSON) as a row of the page's table."""
    params = dict(item.get("params") or {})
    found = ROW.match(item.get("reason") or "")
    row = params.get("row") if item.get("code") == "incentive_order_duplicate_copy" else None
    return {
        "row": row or (int(found.group(1)) if found else None),
        "field": params.get("field") or "",
        "record": item.get("order_id") or "",
        "problem": Problem(item["code"], params),
    }


def check(engine, data_dir: Path, month: str, kind: str, stored: Path) -> dict:
    """Check ``stored`` as the ``kind`` of ``month`` with the compute's own loaders (a staging copy of the month's
    folder beside it); the result the page shows. A file the compute cannot use raises its coded error."""
    carried, plans = plans_from(data_dir, month)
    zone = reports.zone(engine)
    out = {"kind": kind, "month": month, "carried_from": carried, "plans": [p.name for p in plans], "issues": []}
    if kind != "orders":
        con = inputs.connect(zone)
        try:
            inputs.load_roster(con, stored) if kind == "roster" else inputs.load_targets(con, stored, month)
        finally:
            con.close()
        out.update(rows=_rows(stored, kind), rejected=0, duplicates=0)
        return out
    # the staging folder holds what the orders are computed with: the order plans, the target list, the roster
    order_plans = [p for p in plans if svc.load_incentive_plan(p).kind == "incentive"]
    if not order_plans:
        raise Conflict("incentive_upload_no_order_plan", month=month, plans=[p.name for p in plans])
    staging = stored.parent / "staging"
    folder = staging / "incentives" / month
    folder.mkdir(parents=True)
    current = reports.month_inputs(data_dir, month)
    for path in [*order_plans, *(current[n] for n in ("targets", "roster") if current[n] is not None)]:
        os.symlink(path.resolve(), folder / path.name)
    os.symlink(stored.resolve(), folder / stored.name)
    result = reports.recompute(staging, month, zone, engine).to_json()
    rejected, duplicates = result.get("rejected", []), result.get("duplicates", [])
    issues = [_issue(i) for i in [*rejected, *duplicates]]
    out["issues"] = sorted(issues, key=lambda i: i["row"] or 0)[:ISSUES_SHOWN]
    out.update(rows=_rows(stored, kind), rejected=len(rejected), duplicates=len(duplicates))
    return out


def install(data_dir: Path, month: str, stored: Path, carried_from: str | None) -> None:
    """Rename the checked file into the month's folder (then drop the same input's other suffix), and, for a new
    month, the plans carried over after it: each file appears whole or not at all."""
    folder = reports.inputs_dir(data_dir, month)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored.name
    os.replace(stored, target)
    for suffix in SUFFIXES:
        other = folder / f"{target.stem}{suffix}"
        if other != target and other.exists():
            other.unlink()
    if carried_from is not None:
        for plan in reports.month_inputs(data_dir, carried_from)["plans"]:
            temp = stored.parent / f"{plan.name}.part"
            shutil.copyfile(plan, temp)
            os.replace(temp, folder / plan.name)


def _named(exc: WeixiError, name: str, stored: Path) -> WeixiError:
    """A loader's refusal names the server's copy of the file: name the person's file instead."""
    for key in ("path", "file"):
        if key in exc.params and str(stored.name) in str(exc.params[key]):
            exc.params[key] = name
    return exc


def problems_of(exc: Exception) -> list[dict]:
    """The bad rows of a refused roster or target list, as rows of the page's table."""
    rows = []
    for p in getattr(exc, "problems", None) or []:
        where = p.where
        rows.append({"row": where.row if where else None, "field": (where.field if where else None) or "",
                     "record": "", "problem": Problem(p.code, dict(p.params))})  # fmt: skip
    return rows[:ISSUES_SHOWN]


@router.post("/incentives/inputs")
async def upload(
    request: Request,
    month: str = Form("", max_length=7),
    kind: str = Form("", max_length=32),
    data_file: UploadFile | None = File(None),
    user: User = Depends(page_user("incentives:publish")),
):
    """Check the uploaded input of a month and install it; the publish page with the result or the refusal."""
    from weixi.console.incentive_publish import months_with_inputs
    from weixi.console.incentive_publish import render as publish_page

    state = request.app.state
    data_dir = Path(state.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    where = Path(tempfile.mkdtemp(prefix=".incentive-upload-", dir=data_dir))  # same disk: the rename is atomic
    form = {"month": month, "kind": kind}
    name = None
    try:
        Month.parse(month)
        name, stored, sha = await receive(data_file, kind, where)
        result = await run_in_threadpool(check, state.engine, data_dir, month, kind, stored)
        await run_in_threadpool(install, data_dir, month, stored, result["carried_from"])
    except WeixiError as exc:  # said beside the form in the reader's language, with the bad rows of the file
        exc = _named(exc, name, stored) if name else exc
        known = month in months_with_inputs(data_dir)
        return publish_page(request, month if known else None, user, status=exc.status, upload_form=form, upload_error=exc,
                            upload_problems=problems_of(exc))  # fmt: skip
    finally:
        shutil.rmtree(where, ignore_errors=True)
    counted = result["rows"] - result["rejected"] - result["duplicates"]
    detail = {"kind": kind, "rows": result["rows"], "accepted": counted, "quarantined": result["rejected"],
              "from": result["carried_from"], "sha256": sha}  # fmt: skip
    audit(state.engine, user, "incentives.upload", f"{month}/{name}", detail)
    return publish_page(request, month, user, upload_form=form, upload={**result, "file": name})
