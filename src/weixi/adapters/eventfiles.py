"""Event files: CSV (UTF-8, optional BOM), JSON Lines or Parquet with the documented columns.

Rows are yielded with the number a person finds them by: the line number for CSV and JSON Lines
(the header is line 1), the 1-based row number for Parquet. Rejected rows go to a quarantine CSV
beside the input: ``<input>.rejected.csv`` with the original columns plus ``row`` and ``reason``.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from weixi.adapters import spreadsheet
from weixi.errors import Invalid, NotFound, Problem, Where
from weixi.ledger.events import COLUMNS, Event, Rejection, parse_event
from weixi.messages import render

REQUIRED = ("event_id", "member_id", "type", "occurred_at")


class EventFileError(Invalid):
    """The file as a whole cannot be read (unknown format, missing or unknown columns)."""

    def __init__(self, code: str, /, *, file: str | Path, **params: Any):
        super().__init__(code, Where(file=str(file)), file=str(file), **params)


class NoEventFile(EventFileError, NotFound):
    """The file named does not exist."""

    status = NotFound.status


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise EventFileError("event_file_unknown_type", file=path)


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """``(row number, row)``; a row that is not even a record is given as a :class:`Problem` instead."""
    path = Path(path)
    if not path.exists():
        raise NoEventFile("event_file_not_found", file=path)
    fmt = detect_format(path)
    if fmt == "csv":
        yield from _csv_rows(path)
    elif fmt == "jsonl":
        yield from _jsonl_rows(path)
    else:
        yield from _parquet_rows(path)


def _check_columns(path: Path, columns) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise EventFileError("event_file_missing_columns", file=path, columns=missing, expected=list(COLUMNS))
    unknown = [c for c in columns if c not in COLUMNS and c not in ("row", "reason")]
    if unknown:
        raise EventFileError("event_file_unknown_columns", file=path, columns=unknown, expected=list(COLUMNS))


def _csv_rows(path: Path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        _check_columns(path, reader.fieldnames or [])
        for record in reader:
            if None in record:
                yield reader.line_num, Problem("row_extra_fields")
                continue
            yield reader.line_num, record


def _jsonl_rows(path: Path):
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, Problem("line_not_json", {"error": exc.msg, "column": exc.colno})
                continue
            except RecursionError:
                yield number, Problem("line_too_deep")
                continue
            except ValueError:  # a number of thousands of digits
                yield number, Problem("line_number_out_of_range")
                continue
            if not isinstance(record, dict):
                yield number, Problem("line_not_object")
                continue
            unknown = [c for c in record if c not in COLUMNS]
            if unknown:
                yield number, Problem("line_unknown_fields", {"fields": unknown})
                continue
            yield number, record


def _parquet_rows(path: Path):
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    _check_columns(path, pf.schema_arrow.names)
    number = 0
    for batch in pf.iter_batches(batch_size=50_000):
        for record in batch.to_pylist():
            number += 1
            yield number, record


def read_events(path: str | Path, tz: ZoneInfo, now: datetime | None = None) -> Iterator[Event | Rejection]:
    """The file's events; with ``now`` an event dated in the future is rejected (see :func:`parse_event`)."""
    for number, record in read_rows(path):
        if isinstance(record, Problem):
            yield Rejection("", render(record, "en"), number, None, record.code, dict(record.params))
        else:
            yield parse_event(record, tz, number, now)


def quarantine_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".rejected.csv")


def write_quarantine(path: str | Path, rejected: list[Rejection]) -> Path | None:
    """Write the rejected rows, as they were in the input, with their row number and reason."""
    target = quarantine_path(path)
    if not rejected:
        if target.exists():
            target.unlink()
        return None
    by_row = {r.row: r for r in rejected}
    originals: dict[int, dict] = {}
    for number, record in read_rows(path):
        if number in by_row:
            originals[number] = record if isinstance(record, dict) else {}
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = spreadsheet.csv_writer(fh)  # the rows as they came, but no cell can start a formula
        writer.writerow(["row", *COLUMNS, "reason"])
        for rej in sorted(rejected, key=lambda r: r.row or 0):
            record = originals.get(rej.row, {})
            writer.writerow([rej.row, *[_cell(record.get(c)) for c in COLUMNS], rej.reason])
    tmp.replace(target)
    return target


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and value.bit_length() > 128:
        return "(out of range)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
