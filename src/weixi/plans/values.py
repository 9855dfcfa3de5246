"""Scalar readers: YAML scalar -> checked Python value, or :class:`BadValue`.

Each reader takes the raw scalar produced by :mod:`weixi.plans.yaml_source` and returns
the converted value or raises :class:`BadValue` with a code of the error catalogue and its
params (the generic ``plan_*`` codes every plan kind shares: ``plan_expected_type``,
``plan_unknown_choice``...). How a wrong value is named in a sentence is itself a param
(:func:`got`), and so are section names (:func:`noun`), so each language words them its own way.
Decimals are built from the text written in the file, never from a binary float.
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


CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class BadValue(ValueError):
    """A scalar that does not fit its key: a code of the error catalogue and its params. The reader that catches it
    adds the key (every sentence of a value starts with ``{key}: ``) and reports it as a diagnostic
    (:func:`weixi.plans.spec.bad_value`)."""

    def __init__(self, code: str, /, **params: object) -> None:
        if not CODE.match(code):
            raise ValueError(f"a bad value takes a code of the error catalogue, not a text: {code!r}")
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        """The English sentence without its key (``expected a number, got text 'x'``), for logs and tests."""
        from weixi.errors import Problem
        from weixi.messages import render

        text = render(Problem(self.code, {"key": "", **self.params}), "en")
        return text[2:] if text.startswith(": ") else text


def suggestion(word: object, choices) -> str | None:
    """The close choice to suggest for ``word`` (``"earning"`` for ``"earnings"``), if there is one."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def suggested(code: str, word: object, choices) -> tuple[str, dict]:
    """``code`` with its suggestion: ``(code + "_suggest", {"suggestion": ...})`` when a close choice exists."""
    close = suggestion(word, choices)
    return (f"{code}_suggest", {"suggestion": close}) if close else (code, {})


def noun(what: str) -> str:
    """A section or value name as a param (``"earning rule"`` -> ``"earning_rule"``); the catalogue's
    ``noun.<name>`` entries name it in each language."""
    return what.replace(" ", "_").replace("-", "_").lower()


def got(raw: object) -> dict:
    """How a raw YAML value is named in a sentence, as params: ``got`` is its kind (a ``got.<kind>`` entry of the
    catalogue: ``text``, ``number``, ``date``, ``true``, ``false``, ``mapping``, ``list``, ``nothing``) and
    ``got_value`` the value as written (text in quotes), empty for the kinds without one."""
    if raw is None:
        return {"got": "nothing", "got_value": ""}
    if isinstance(raw, Mapping):
        return {"got": "mapping", "got_value": ""}
    if isinstance(raw, Sequence):
        return {"got": "list", "got_value": ""}
    if isinstance(raw, bool):
        return {"got": str(raw).lower(), "got_value": ""}
    if isinstance(raw, int):
        return {"got": "number", "got_value": int(raw)}
    if isinstance(raw, FloatText):
        return {"got": "number", "got_value": str(raw)}
    if isinstance(raw, DateText):
        return {"got": "date", "got_value": str(raw)}
    return {"got": "text", "got_value": f"'{raw}'"}


def text(raw: object) -> str:
    if not isinstance(raw, str) or isinstance(raw, FloatText):
        raise BadValue("plan_expected_type", expected="text", **got(raw))
    return str(raw)


NAME_MAX = 40  # characters: a name is shown in table cells, selects and statements


def label(raw: object) -> str:
    """A display name a plan gives one of its ids (a tier's, reward's, rule's ``name``): text on one line, not blank,
    at most :data:`NAME_MAX` characters; surrounding spaces are dropped."""
    value = text(raw).strip()
    if not value:
        raise BadValue("plan_name_blank")
    if "\n" in value or "\r" in value:
        raise BadValue("plan_name_multiline")
    if len(value) > NAME_MAX:
        raise BadValue("plan_name_too_long", length=len(value), max=NAME_MAX)
    return value


def ident(raw: object) -> str:
    value = text(raw)
    if not ID_PATTERN.match(value):
        raise BadValue("plan_bad_id", value=value)
    return value


def boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise BadValue("plan_expected_type", expected="boolean", **got(raw))
    return raw


def integer(raw: object) -> int:
    if isinstance(raw, bool):
        raise BadValue("plan_expected_type", expected="whole_number", **got(raw))
    if isinstance(raw, int):
        return int(raw)
    raise BadValue("plan_expected_type", expected="whole_number", **got(raw))


def positive_int(raw: object) -> int:
    value = integer(raw)
    if value <= 0:
        raise BadValue("plan_not_positive_int", value=value)
    return value


def non_negative_int(raw: object) -> int:
    value = integer(raw)
    if value < 0:
        raise BadValue("plan_negative", value=value)
    return value


def decimal(raw: object) -> Decimal:
    """A YAML int, a float as written in the file, or a quoted number."""
    if isinstance(raw, bool) or raw is None or not isinstance(raw, (int, str)) or isinstance(raw, DateText):
        raise BadValue("plan_expected_type", expected="number", **got(raw))
    if isinstance(raw, int):
        return Decimal(int(raw))
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadValue("plan_expected_type", expected="number", **got(raw)) from None
    if not value.is_finite():
        raise BadValue("plan_expected_type", expected="finite_number", **got(raw))
    return value


def positive_decimal(raw: object) -> Decimal:
    value = decimal(raw)
    if value <= 0:
        raise BadValue("plan_not_positive", value=value)
    return value


def non_negative_decimal(raw: object) -> Decimal:
    value = decimal(raw)
    if value < 0:
        raise BadValue("plan_negative", value=value)
    return value


def int_between(low: int, high: int, what: str):
    """A reader of whole numbers from ``low`` to ``high`` (a month 1-12, a star level 1-7)."""

    def read(raw: object) -> int:
        value = integer(raw)
        if not low <= value <= high:
            raise BadValue("plan_out_of_range", noun=noun(what), low=low, high=high, value=value)
        return value

    return read


def day(raw: object) -> date:
    if isinstance(raw, bool) or not isinstance(raw, str) or isinstance(raw, FloatText):
        raise BadValue("plan_expected_type", expected="date", **got(raw))
    source = str(raw).strip()
    if not DATE_PATTERN.match(source):
        raise BadValue("plan_bad_date_format", value=source)
    try:
        return date.fromisoformat(source)
    except ValueError as exc:
        raise BadValue("plan_bad_date", value=source, detail=str(exc)) from None


def choice(values: tuple[str, ...], what: str):
    """A reader that accepts one of ``values``."""

    def read(raw: object) -> str:
        if isinstance(raw, str) and not isinstance(raw, FloatText) and raw in values:
            return str(raw)
        if not isinstance(raw, str) or isinstance(raw, FloatText):
            raise BadValue("plan_expected_choice", noun=noun(what), options=list(values), **got(raw))
        code, hint = suggested("plan_unknown_choice", raw, values)
        raise BadValue(code, noun=noun(what), value=str(raw), options=list(values), **hint)

    return read


def _loads(name: str) -> bool:
    """Whether ``name`` is a zone the time zone database holds (as :func:`_zones` lists them)."""
    import zoneinfo

    if name == "posixrules":  # a file of the database, not a zone (not listed)
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    try:
        import zoneinfo

        return frozenset(zoneinfo.available_timezones())
    except Exception:  # no tz database on this machine: accept any name
        return frozenset()


def timezone_name(raw: object) -> str:
    value = text(raw)
    if _loads(value):  # a zone of the database (listing them all walks the database: 0.03 s of every plan's read)
        return value
    zones = _zones()
    if zones and value not in zones:
        code, hint = suggested("plan_unknown_timezone", value, zones)
        raise BadValue(code, value=value, **hint)
    return value
