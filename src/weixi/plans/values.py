"""Scalar readers: YAML scalar -> checked Python value, or :class:`BadValue`.

Each reader takes the raw scalar produced by :mod:`weixi.plans.yaml_source` and returns
the converted value or raises :class:`BadValue` with a message for the user. Decimals
are built from the text written in the file, never from a binary float.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from weixi.plans.yaml_source import DateText, FloatText, Mapping, Sequence

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class BadValue(ValueError):
    """A scalar that does not fit its key; the message is shown to the user."""


def did_you_mean(word: object, choices) -> str:
    """``"; did you mean 'x'?"`` when a close choice exists, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe(raw: object) -> str:
    """How a raw YAML value is named in messages."""
    if raw is None:
        return "nothing"
    if isinstance(raw, Mapping):
        return "a mapping"
    if isinstance(raw, Sequence):
        return "a list"
    if isinstance(raw, bool):
        return f"{str(raw).lower()} (a boolean)"
    if isinstance(raw, int):
        return f"the number {int(raw)}"
    if isinstance(raw, FloatText):
        return f"the number {raw}"
    if isinstance(raw, DateText):
        return f"the date {raw}"
    if isinstance(raw, str):
        return f"text '{raw}'"
    return type(raw).__name__


def text(raw: object) -> str:
    if not isinstance(raw, str) or isinstance(raw, FloatText):
        raise BadValue(f"expected text, got {describe(raw)}")
    return str(raw)


def ident(raw: object) -> str:
    value = text(raw)
    if not ID_PATTERN.match(value):
        raise BadValue(f"'{value}' is not a valid id: use lower-case letters, digits, '-' and '_'")
    return value


def boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise BadValue(f"expected true or false, got {describe(raw)}")
    return raw


def integer(raw: object) -> int:
    if isinstance(raw, bool):
        raise BadValue(f"expected a whole number, got {describe(raw)}")
    if isinstance(raw, int):
        return int(raw)
    raise BadValue(f"expected a whole number, got {describe(raw)}")


def positive_int(raw: object) -> int:
    value = integer(raw)
    if value <= 0:
        raise BadValue(f"must be a positive whole number, got {value}")
    return value


def non_negative_int(raw: object) -> int:
    value = integer(raw)
    if value < 0:
        raise BadValue(f"must be zero or more, got {value}")
    return value


def decimal(raw: object) -> Decimal:
    """A YAML int, a float as written in the file, or a quoted number."""
    if isinstance(raw, bool) or raw is None or not isinstance(raw, (int, str)) or isinstance(raw, DateText):
        raise BadValue(f"expected a number, got {describe(raw)}")
    if isinstance(raw, int):
        return Decimal(int(raw))
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadValue(f"expected a number, got {describe(raw)}") from None
    if not value.is_finite():
        raise BadValue(f"expected a finite number, got {describe(raw)}")
    return value


def positive_decimal(raw: object) -> Decimal:
    value = decimal(raw)
    if value <= 0:
        raise BadValue(f"must be greater than zero, got {value}")
    return value


def non_negative_decimal(raw: object) -> Decimal:
    value = decimal(raw)
    if value < 0:
        raise BadValue(f"must be zero or more, got {value}")
    return value


def int_between(low: int, high: int, what: str):
    """A reader of whole numbers from ``low`` to ``high`` (a month 1-12, a star level 1-7)."""

    def read(raw: object) -> int:
        value = integer(raw)
        if not low <= value <= high:
            raise BadValue(f"{what} must be from {low} to {high}, got {value}")
        return value

    return read


def day(raw: object) -> date:
    if isinstance(raw, bool) or not isinstance(raw, str) or isinstance(raw, FloatText):
        raise BadValue(f"expected a date YYYY-MM-DD, got {describe(raw)}")
    source = str(raw).strip()
    if not DATE_PATTERN.match(source):
        raise BadValue(f"bad date '{source}': expected YYYY-MM-DD")
    try:
        return date.fromisoformat(source)
    except ValueError as exc:
        raise BadValue(f"bad date '{source}': {exc}") from None


def choice(values: tuple[str, ...], what: str):
    """A reader that accepts one of ``values``."""

    def read(raw: object) -> str:
        if isinstance(raw, str) and not isinstance(raw, FloatText) and raw in values:
            return str(raw)
        if not isinstance(raw, str) or isinstance(raw, FloatText):
            raise BadValue(f"expected {what} ({', '.join(values)}), got {describe(raw)}")
        raise BadValue(f"unknown {what} '{raw}', expected one of {', '.join(values)}{did_you_mean(raw, values)}")

    return read


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    try:
        import zoneinfo

        return frozenset(zoneinfo.available_timezones())
    except Exception:  # no tz database on this machine: accept any name
        return frozenset()


def timezone_name(raw: object) -> str:
    value = text(raw)
    zones = _zones()
    if zones and value not in zones:
        raise BadValue(f"unknown time zone '{value}'{did_you_mean(value, zones)}")
    return value
