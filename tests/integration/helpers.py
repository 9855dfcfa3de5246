from __future__ import annotations

import csv
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from weixi.ledger.events import COLUMNS, Event

TZ = ZoneInfo("Asia/Shanghai")


def write_events(path, rows):
    """rows: tuples (event_id, member_id, type, day, amount, ref, attrs-dict|None[, points])."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            event_id, member, etype, day, amount, ref, attrs, *points = r
            w.writerow(
                [
                    event_id,
                    member,
                    etype,
                    f"{day}T10:00:00+08:00",
                    amount or "",
                    points[0] if points else "",
                    ref or "",
                    json.dumps(attrs) if attrs else "",
                ]
            )
    return path


def event(event_id, member, etype, day, amount_fen=None, ref=None, points=None, **attrs):
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return Event(
        event_id, member, etype, datetime(d.year, d.month, d.day, 10, tzinfo=TZ), d, amount_fen, points, ref, attrs
    )
