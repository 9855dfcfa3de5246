"""Scorecard metrics computed from service records attributed to staff (issue 19 §8): surveys and complaints carry
the staff id of who served, so the satisfaction and complaint metrics of a scorecard are computed from the records,
not typed in by hand. Pure: rows in, ``{staff_id: {metric: score}}`` out, with every bad row rejected.

A records file has ``record_id, kind (survey|complaint), staff_id, occurred_on, score, resolved,
resolution_hours``: a survey's ``score``; a complaint's ``resolved`` and the hours it took (``resolution_hours``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from weixi.incentives.model import Scorecard
from weixi.incentives.records import BadField, Rejected, day, flag, number, text

COLUMNS = ("record_id", "kind", "staff_id", "occurred_on", "score", "resolved", "resolution_hours")
REQUIRED = ("record_id", "kind", "staff_id", "occurred_on")
KINDS = ("survey", "complaint")
PLACES = Decimal("0.01")


def read(rows: Iterable[tuple[int, Mapping]], first: date, last: date, path: str):
    """(surveys, complaints, rejected): ``surveys`` staff -> scores; ``complaints`` staff -> [(resolved, hours)]
    of the records from ``first`` to ``last``."""
    surveys: dict[str, list[Decimal]] = {}
    complaints: dict[str, list[tuple[bool, Decimal | None]]] = {}
    rejected, seen = [], set()
    for row, raw in rows:
        try:
            rid, kind, staff_id = text(raw, "record_id"), text(raw, "kind"), text(raw, "staff_id")
            if rid in seen:
                raise BadField("incentive_record_repeated", "record_id", record=rid)
            seen.add(rid)
            if kind not in KINDS:
                raise BadField("incentive_record_bad_kind", "kind", value=kind, known=list(KINDS))
            when = day(raw, "occurred_on")
            if kind == "survey":
                score = number(raw, "score")
            else:
                resolved, hours = flag(raw, "resolved"), number(raw, "resolution_hours", required=False)
        except BadField as exc:
            rejected.append(Rejected.of(str(raw.get("record_id") or ""), row, exc, path))
            continue
        if not first <= when <= last:
            continue  # another period's record
        if kind == "survey":
            surveys.setdefault(staff_id, []).append(score)
        else:
            complaints.setdefault(staff_id, []).append((resolved, hours))
    return surveys, complaints, rejected


def metrics(card: Scorecard, surveys: dict, complaints: dict) -> dict[str, dict[str, Decimal]]:
    """Each staff member's record metrics on the scorecard's scale; a staff member without surveys (or complaints)
    has no value for a survey (complaint) metric."""
    out: dict[str, dict[str, Decimal]] = {}
    for rm in card.from_records:
        if rm.measure == "survey_mean":
            for staff_id, scores in surveys.items():
                mean = sum(scores, Decimal(0)) / len(scores)
                value = mean * card.scale / (rm.survey_scale or card.scale)
                out.setdefault(staff_id, {})[rm.metric] = value.quantize(PLACES)
            continue
        for staff_id, found in complaints.items():
            if rm.measure == "resolved_share":
                good = sum(1 for resolved, _ in found if resolved)
            else:
                good = sum(1 for resolved, hours in found if resolved and hours is not None and hours <= rm.hours)
            out.setdefault(staff_id, {})[rm.metric] = (card.scale * good / len(found)).quantize(PLACES)
    return out
