"""Finding the member in front of a clerk (issue 18 §1, 营业员 at the counter): by the whole phone number or the whole
ID number, exact match only, so that a clerk who does not see numbers in clear learns nothing a digit at a time
(:mod:`weixi.members.search` keeps suffix searches for the roles that see numbers). Results are masked unless
``reveal``; a lookup by ID number is written to the audit log (``pii.view``, view ``counter_lookup``) with the
members it found, as a suffix search of phone numbers is.

A phone number goes through the search index when it is fresh (:mod:`weixi.adapters.search_index`); an ID number
(not indexed) is one DuckDB scan of the archive's current rows.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import archive, duck, search_index
from weixi.errors import Invalid, Where
from weixi.members import pii, pii_audit
from weixi.users.service import User

COLUMNS = ("member_id", "name", "phone", "id_number", "city", "plan_name", "join_date", "manager_id")
LIMIT = 10
_PHONE = re.compile(r"\+?\d{5,20}")
_ID_NUMBER = re.compile(r"\d{15}|\d{17}[\dX]")


class LookupInvalid(Invalid, ValueError):
    """The text is neither a whole phone number nor a whole ID number."""


def kind_of(text: str) -> str:
    """``id_number`` (15 digits, or 17 and a digit or X), ``phone`` (5–20 digits) or refused."""
    if _ID_NUMBER.fullmatch(text):  # a mobile number has 11 digits
        return "id_number"
    if _PHONE.fullmatch(text):
        return "phone"
    raise LookupInvalid("counter_lookup_not_a_number", Where(field="q"))


def normalise(text: str) -> str:
    return (text or "").strip().replace(" ", "").replace("-", "").upper()


def find(data_dir: Path, text: str, reveal: bool = False) -> tuple[str, list[dict]]:
    """``(kind, rows)``: the members whose phone (``kind == "phone"``) or ID number is exactly ``text``."""
    q = normalise(text)
    kind = kind_of(q)
    data_dir = Path(data_dir)
    if not (archive.part_files(data_dir, "members") or archive.load_files(data_dir, "members")):
        return kind, []
    number = q.lstrip("+")
    index = search_index.fresh(data_dir) if kind == "phone" else None
    if index is not None:
        ids = sorted({m for key, m in search_index.matches(index, ["p:" + number], LIMIT) if key == "p:" + number})
        found = archive.members_rows(data_dir, ids, list(COLUMNS))
        rows = [found[m] for m in ids if m in found and str(found[m].get("phone") or "") == number]
    else:
        column = "phone" if kind == "phone" else "upper(id_number)"
        cols = ", ".join(COLUMNS)
        sql = (
            f"SELECT {cols} FROM ({archive.scan_sql(data_dir, 'members')}) WHERE {column} = ? "
            f"ORDER BY member_id LIMIT {LIMIT}"
        )
        with duck.reader() as con:
            result = con.execute(sql, [number])
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, r)) for r in result.fetchall()]
    out = []
    for r in rows:
        r = pii.mask_row(r, reveal)
        r["join_date"] = str(r["join_date"]) if r.get("join_date") else None
        out.append(r)
    return kind, out


def find_audited(engine: Engine, data_dir: Path, user: User, text: str, reveal: bool = False) -> tuple[str, list]:
    """:func:`find`, writing a lookup by ID number (or any lookup shown in clear) to the audit log."""
    kind, rows = find(data_dir, text, reveal)
    if kind == "id_number" or (reveal and rows):
        pii_audit.record(
            engine,
            user,
            "counter_lookup",
            [r["member_id"] for r in rows],
            match=kind,
            fields=sorted(pii.PII_FIELDS) if reveal else [],
        )
    return kind, rows
