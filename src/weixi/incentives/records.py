"""Small per-staff input records (violations, referrals, scores, transactions) as plain values.

Rows arrive as mappings of column -> text (from CSV/Parquet read by the service layer). Each parser
returns the record or a :class:`Rejected` with the row and a coded reason (:class:`BadField`: a code of the error
catalogue with its params, the column in ``where``); no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from weixi.errors import Invalid, Problem, Where

TRUE = ("true", "t", "1", "yes", "y", "是")
FALSE = ("false", "f", "0", "no", "n", "否")


class BadField(Invalid, ValueError):
    """One field of an input row that cannot be used; ``where.field`` names its column."""

    def __init__(self, code: str, field: str | None = None, /, **params: Any):
        super().__init__(code, Where(field=field) if field else None, **params)


@dataclass(frozen=True)
class Rejected:
    """A row that is not counted: its record id, its row in the file, and why (a coded problem)."""

    record_id: str
    row: int | None
    problem: Problem

    @classmethod
    def of(cls, record_id: str, row: int | None, error: BadField, file: str | None = None) -> "Rejected":
        field = error.where.field if error.where else None
        return cls(record_id, row, Problem(error.code, error.params, Where(file=file, row=row, field=field)))

    @property
    def reason(self) -> str:
        from weixi.messages import render

        return render(self.problem, "en")

    def to_json(self) -> dict:
        where = f"row {self.row}: " if self.row is not None else ""
        return {
            "order_id": self.record_id,
            "reason": where + self.reason,
            "code": self.problem.code,
            "params": dict(self.problem.params),
        }


def text(raw: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = raw.get(key)
    value = None if value is None else str(value).strip()
    if not value:
        if required:
            raise BadField("incentive_field_missing", key, field=key)
        return None
    return value


def day(raw: Mapping[str, Any], key: str, required: bool = True) -> date | None:
    value = text(raw, key, required)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadField("incentive_field_not_a_date", key, field=key, value=value) from None


def flag(raw: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = text(raw, key, required=False)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise BadField("incentive_field_not_boolean", key, field=key, value=value)


def number(raw: Mapping[str, Any], key: str, required: bool = True) -> Decimal | None:
    value = text(raw, key, required)
    if value is None:
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise BadField("incentive_field_not_a_number", key, field=key, value=value) from None
    if not result.is_finite():
        raise BadField("incentive_field_not_a_number", key, field=key, value=value)
    return result
