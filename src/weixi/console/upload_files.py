"""What the uploads page does with a file: receive it (size limit, file kind, encoding), run the loader the command
line runs for its kind, and give one result shape for the page; the quarantine report in the reader's language.

The loaders are the command line's: ``weixi load TABLE`` (:func:`weixi.members.intake.load_file`) for the archive
tables, ``weixi events post`` (:func:`weixi.close.post_lake.post_file_events`) for loyalty events and ``weixi staff load``
(:func:`weixi.operations.staff.load_staff`) for the roster. Each is safe to run again on the same file: an archive
file already loaded changes nothing, an event already posted is a duplicate, a roster row replaces itself.

The bad rows of an archive load are in ``DATA/quarantine/<table>-<seq>-<sha8>.csv`` (written by the loader); the
rejected events of an upload are written beside them as ``events-<stamp>-<sha8>.csv`` in the same columns, so one
download serves both: row, field, value and the reason said in the reader's language from its code.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import archive, spreadsheet
from weixi.adapters.eventfiles import read_events, write_quarantine
from weixi.close.post_lake import post_file_events
from weixi.errors import Invalid, NotFound, Problem, WeixiError
from weixi.i18n import N_
from weixi.members.fields import QUARANTINE_COLUMNS
from weixi.members.intake import LOADABLE, load_file
from weixi.messages import render
from weixi.operations import staff as ops_staff

MAX_UPLOAD_MB = 100
CHUNK = 1024 * 1024
ISSUES_SHOWN = 20

# Every kind of file the page loads, in the order of its choices: (what it is called, the file types it takes).
ARCHIVE_KINDS = {
    "members": N_("Members (CRM archive)"),
    "contracts": N_("Contracts"),
    "bills": N_("Monthly bills"),
    "recharges": N_("Recharges"),
    "usage": N_("Monthly usage"),
    "complaints": N_("Complaints"),
    "surveys": N_("Satisfaction surveys"),
}
KINDS = {
    **{k: v for k, v in ARCHIVE_KINDS.items() if k in LOADABLE},
    "events": N_("Loyalty events (bills, recharges and actions to earn points)"),
    "roster": N_("Staff roster (managers, agents, team leads)"),
}
SUFFIXES = {
    **{k: (".csv", ".txt", ".parquet") for k in ARCHIVE_KINDS},
    "events": (".csv", ".jsonl", ".parquet"),
    "roster": (".csv", ".parquet"),
}
REPORT_NAME = re.compile(r"^[a-z_]+-\d{6,14}-[0-9a-f]{8}\.csv$")
# The quarantine report's own columns as the reader reads them (the file's columns follow as they came).
REPORT_HEADERS = (N_("Row"), N_("Field"), N_("Value"), N_("Reason"))


class UploadTooLarge(WeixiError):
    status = 413


@dataclass
class Upload:
    """A received file: its name as the person's computer called it, where it is stored while it loads, its size
    and fingerprint."""

    name: str
    path: Path
    size: int
    sha256: str


def clean_name(filename: str | None) -> str:
    """The file's own name (no folders), at most 120 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[-120:] or "upload"


async def receive(upload, kind: str, workdir: Path) -> Upload:
    """Store the uploaded file under ``workdir`` (its own name kept, so that the loaders record it); refuse an
    unknown kind, a file type the kind does not take, an empty file or one over :data:`MAX_UPLOAD_MB`."""
    if kind not in KINDS:
        raise Invalid("upload_unknown_kind", kind=kind[:32], kinds=list(KINDS))
    name = clean_name(getattr(upload, "filename", None))
    if upload is None or not getattr(upload, "filename", None):
        raise Invalid("upload_no_file")
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES[kind]:
        raise Invalid("upload_wrong_file_type", file=name, types=list(SUFFIXES[kind]))
    path = workdir / name
    digest = await save_stream(upload, path, name)
    if suffix == ".parquet":
        _must_be_parquet(path, name)
    return Upload(name, path, path.stat().st_size, digest)


def _must_be_parquet(path: Path, name: str) -> None:
    """A file named .parquet that is not one is refused with its code (every loader then reads it safely)."""
    try:
        pq.read_metadata(path)
    except (pa.ArrowException, OSError):
        raise Invalid("upload_not_parquet", file=name) from None


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="weixi-upload-"))


def discard(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _named(exc: WeixiError, name: str) -> WeixiError:
    """A loader's refusal names the server's copy of the file: name the person's file instead."""
    for key in ("path", "file"):
        if key in exc.params:
            exc.params[key] = name
    return exc


def load(kind: str, up: Upload, engine, data_dir: Path, encoding: str, zone: ZoneInfo) -> dict[str, Any]:
    """Run the loader of ``kind`` on the received file; the result as the page shows it (``status``: ``loaded`` or
    ``already_loaded``; rows, accepted, unchanged, duplicates, quarantined; the first :data:`ISSUES_SHOWN` issues as
    ``row``, ``field`` (the file's column), ``value`` and ``problem``; ``report``: the quarantine report's name)."""
    try:
        if kind == "events":
            return _events(up, engine, data_dir, zone)
        if kind == "roster":
            loaded = ops_staff.load_staff(engine, up.path)
            return _result(kind, up, rows=loaded["loaded"], accepted=loaded["loaded"])
        return _archive(kind, up, data_dir, encoding, zone)
    except WeixiError as exc:
        raise _named(exc, up.name) from None


def _result(kind: str, up: Upload, **values) -> dict[str, Any]:
    out = {"kind": kind, "file": up.name, "sha256": up.sha256, "status": "loaded", "rows": 0, "accepted": 0,
           "unchanged": 0, "duplicates": 0, "quarantined": 0, "issues": [], "report": None, "seq": None}  # fmt: skip
    out.update(values)
    return out


def _archive(kind: str, up: Upload, data_dir: Path, encoding: str, zone: ZoneInfo) -> dict[str, Any]:
    if encoding not in ("auto", "utf-8", "gbk"):
        raise Invalid("intake_unknown_encoding", encoding=encoding[:16])
    s = load_file(up.path, kind, data=data_dir, encoding=encoding, timezone=zone.key)
    header = {target: column for column, target in (s.get("columns") or {}).items()}
    issues = [
        {"row": e["row"], "field": header.get(e["field"], e["field"]), "value": e["value"],
         "problem": Problem(e.get("reason_code") or e["code"], dict(e.get("params") or {}))}
        for e in s.get("examples", [])[:ISSUES_SHOWN]
    ]  # fmt: skip
    report = (s.get("quarantine_file") or "").rsplit("/", 1)[-1] or None
    if s["status"] == "already_loaded":
        report = None  # the earlier load's report is listed with it
    return _result(kind, up, status=s["status"], seq=s.get("seq"), rows=s.get("rows", 0),
                   accepted=s.get("loaded", 0) + s.get("replaced", 0), unchanged=s.get("unchanged", 0),
                   quarantined=s.get("quarantined", 0), issues=issues, report=report,
                   ignored_columns=s.get("ignored_columns", []))  # fmt: skip


def _events(up: Upload, engine, data_dir: Path, zone: ZoneInfo) -> dict[str, Any]:
    if up.path.suffix.lower() in (".csv", ".jsonl"):
        _must_be_utf8(up)
    result = post_file_events(engine, read_events(up.path, zone, datetime.now(timezone.utc)), data_dir)
    rejected = sorted(result.rejected, key=lambda r: r.row or 0)
    issues = [
        {"row": r.row, "field": r.field or "", "value": r.event_id or None, "problem": r.problem}
        for r in rejected[:ISSUES_SHOWN]
    ]
    report = _event_report(up, rejected, data_dir) if rejected else None
    rows = result.posted + len(result.duplicates) + len(rejected)
    return _result("events", up, rows=rows, accepted=result.posted, duplicates=len(result.duplicates),
                   quarantined=len(rejected), issues=issues, report=report)  # fmt: skip


def _must_be_utf8(up: Upload) -> None:
    """Event files are UTF-8 (the loader reads them so): refuse another encoding with its code, not a crash."""
    decoder, seen = codecs.getincrementaldecoder("utf-8")(), 0
    with open(up.path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise Invalid("upload_not_utf8", file=up.name, pos=seen + exc.start) from None
            seen += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise Invalid("upload_not_utf8", file=up.name, pos=seen + exc.start) from None


def _event_report(up: Upload, rejected, data_dir: Path) -> str:
    """The rejected events in the quarantine report's columns, the rows as they came after them."""
    written = write_quarantine(up.path, rejected)  # row, the event columns, reason (beside the upload)
    with open(written, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    columns = rows[0][1:-1]
    by_row = {r.row: r for r in rejected}
    name = f"events-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{up.sha256[:8]}.csv"
    target = Path(data_dir) / "quarantine" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8-sig", newline="") as fh:
        w = spreadsheet.csv_writer(fh)
        w.writerow([*QUARANTINE_COLUMNS, *columns])
        for line in rows[1:]:
            rej = by_row.get(int(line[0])) if line[0].isdigit() else None
            problem = rej.problem if rej else Problem("event_rejected", {"reason": line[-1]})
            w.writerow([line[0], rej.field if rej else "", rej.event_id if rej else "", line[-1], problem.code,
                        json.dumps([problem.params], ensure_ascii=False), *line[1:-1]])  # fmt: skip
    return name


def report_path(data_dir: Path, name: str) -> Path:
    """The quarantine report ``name`` in the data directory; NotFound for any other name."""
    path = Path(data_dir) / "quarantine" / name
    if not REPORT_NAME.match(name) or not path.is_file():
        raise NotFound("upload_report_not_found", report=name[:80])
    return path


def field_headers(data_dir: Path, name: str) -> dict[str, str]:
    """An archive report's fields as the file's own column headers (from the load's journal entry)."""
    for entry in archive.read_journal(data_dir).get("loads", []):
        if (entry.get("quarantine_file") or "").endswith("/" + name):
            return {target: column for column, target in (entry.get("columns") or {}).items()}
    return {}


def translated_report(data_dir: Path, name: str, locale: str, gettext) -> bytes:
    """The quarantine report for a reader: the headers in their language, each row's field as the file's column
    and its reason said from its code; then the row's own columns as they came (UTF-8 with BOM, for Excel)."""
    path = report_path(data_dir, name)
    headers = field_headers(data_dir, name)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    n = len(QUARANTINE_COLUMNS)
    out = io.StringIO()
    w = spreadsheet.csv_writer(out)
    w.writerow([*(gettext(h) for h in REPORT_HEADERS), *rows[0][n:]])
    for line in rows[1:]:
        codes = [c.strip() for c in line[4].split(";") if c.strip()]
        try:
            params = json.loads(line[5]) if line[5] else []
        except ValueError:
            params = []
        said = [render(Problem(c, params[i] if i < len(params) else {}), locale) for i, c in enumerate(codes)]
        fields = "; ".join(headers.get(f.strip(), f.strip()) for f in line[1].split(";") if f.strip())
        w.writerow([line[0], fields, line[2], "; ".join(said) or line[3], *line[n:]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def save_stream(upload, path: Path, name: str) -> str:
    """Write an uploaded file to ``path`` chunk by chunk, refusing one over the size cap or empty; its SHA-256."""
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_MB * CHUNK:
                raise UploadTooLarge("upload_too_large", file=name, mb=MAX_UPLOAD_MB)
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise Invalid("upload_empty", file=name)
    return digest.hexdigest()
