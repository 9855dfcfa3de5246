"""Personal data in outputs: phone and ID numbers are stored as given and shown masked.

The member archive is the system of record, so Parquet files hold ``phone``, ``second_contact`` and
``id_number`` in clear.  Everything that *shows* them (CLI output, quarantine summaries on screen, later the
console and the REST API) passes through :func:`mask_row` / :func:`mask_value` with ``reveal=False`` unless the
caller's role may see them. Which roles may is decided in one place, the permission matrix
(``weixi.api.permissions.PII_ROLES``); see docs/member-intake.md, *Personal data*.
"""

from __future__ import annotations

from typing import Any

PHONE_FIELDS = frozenset({"phone", "second_contact"})
ID_FIELDS = frozenset({"id_number"})
PII_FIELDS = PHONE_FIELDS | ID_FIELDS


def mask_phone(value: str | None, reveal: bool = False) -> str | None:
    """``13812341234`` -> ``138****1234``; other lengths keep the first 3 and last 4 when long enough."""
    if value is None or reveal:
        return value
    s = str(value)
    if len(s) >= 8:
        return s[:3] + "*" * (len(s) - 7) + s[-4:]
    return "*" * len(s)


def mask_id_number(value: str | None, reveal: bool = False) -> str | None:
    """``440301199001011234`` -> ``440301********1234`` (area code and last 4 stay)."""
    if value is None or reveal:
        return value
    s = str(value)
    if len(s) >= 11:
        return s[:6] + "*" * (len(s) - 10) + s[-4:]
    return "*" * len(s)


def mask_value(field: str, value: Any, reveal: bool = False) -> Any:
    """Mask ``value`` if ``field`` is a personal-number field (phone, second contact, ID number)."""
    if reveal or value is None:
        return value
    if field in PHONE_FIELDS:
        return mask_phone(str(value))
    if field in ID_FIELDS:
        return mask_id_number(str(value))
    return value


def mask_row(row: dict[str, Any], reveal: bool = False) -> dict[str, Any]:
    """A copy of a member row (or any row) with its phone and ID numbers masked unless ``reveal``."""
    if reveal:
        return dict(row)
    return {k: mask_value(k, v) for k, v in row.items()}
