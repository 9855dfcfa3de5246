"""Small per-staff input records (violations, referrals, scores, transactions) as plain values.

Rows arrive as mappings of column -> text (from CSV/Parquet read by the service layer). Each parser
returns the record or a :class:`Rejected` with the row and a reason; no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

TRUE = ("true", "t", "1", "yes", "y", "是")
FALSE = ("false", "f", "0", "no", "n", "否")


@dataclass(frozen=True)
class Rejected:
    record_id: str
    row: int | None
    reason: str

    def to_json(self) -> dict:
        where = f"row {self.row}: " if self.row is not None else ""
        return {"order_id": self.record_id, "reason": where + self.reason}


class BadField(ValueError):
    pass


def text(raw: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = raw.get(key)
    value = None if value is None else str(value).strip()
    if not value:
        if required:
            raise BadField(f"{key}: missing")
        return None
    return value


def day(raw: Mapping[str, Any], key: str, required: bool = True) -> date | None:
    value = text(raw, key, required)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadField(f"{key}: not a date YYYY-MM-DD: {value}") from None


def flag(raw: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = text(raw, key, required=False)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise BadField(f"{key}: expected true or false, got {value}")


def number(raw: Mapping[str, Any], key: str, required: bool = True) -> Decimal | None:
    value = text(raw, key, required)
    if value is None:
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise BadField(f"{key}: not a number: {value}") from None
    if not result.is_finite():
        raise BadField(f"{key}: not a number: {value}")
    return result
