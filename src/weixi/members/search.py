"""Finding members for the console: by member id, phone number or name, with personal numbers masked.

One DuckDB query over the archive's current rows (:func:`weixi.adapters.archive.scan_sql`), joined to the
latest close snapshot for the tier; members known only to the ledger (posted events, no archive row) are
found by their exact id. The query text is always a bound parameter, never part of the SQL.

:func:`search_audited` and :func:`show` (member 360) are what the API uses: whoever shows a member decides
``reveal`` (from the role, see weixi.api.permissions) and every view with ``reveal=True`` is written to the
audit log here, so no caller can forget it.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import archive, duck, search_index
from weixi.adapters.parquet_lookup import rows_of_many
from weixi.adapters.sql import execute
from weixi.close import store
from weixi.errors import Invalid
from weixi.members import pii, pii_audit
from weixi.members.member360 import member_360
from weixi.plans.service import plan_zone
from weixi.settings import DEFAULT_TIMEZONE
from weixi.users.service import User

MAX_QUERY = 64
DEFAULT_LIMIT = 50
MAX_RESULTS = 100
COLUMNS = ("member_id", "name", "phone", "city", "district", "plan_name", "join_date", "manager_id")


class SearchError(Invalid, ValueError):
    """The search text cannot be searched (too long)."""


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    data_dir: Path,
    query: str,
    engine: Engine | None = None,
    limit: int = DEFAULT_LIMIT,
    reveal: bool = False,
    phone_fragments: bool = False,
) -> list[dict]:
    """Members matching ``query``: an id (exact or prefix), a whole phone number, its last 4+ digits only when
    ``phone_fragments`` (roles that see numbers in clear: a suffix search of masked numbers would unmask them a
    digit at a time), or the start of a name (surname, or the whole name). Exact id matches come first, then by
    member id; each kind of match contributes at most ``limit`` members (the first in index order when there are
    more). Phone numbers are masked unless ``reveal``. Uses the search index (:mod:`weixi.adapters.search_index`)
    when it is fresh, else scans the archive."""
    q = (query or "").strip()
    if not q:
        return []
    if len(q) > MAX_QUERY:
        raise SearchError("member_search_too_long", limit=MAX_QUERY)
    data_dir = Path(data_dir)
    digits = q if _by_digits(q) else None
    rows: list[dict] = []
    has_archive = bool(archive.part_files(data_dir, "members") or archive.load_files(data_dir, "members"))
    if has_archive:
        index = search_index.fresh(data_dir)
        zone = plan_zone(engine).key if engine is not None else DEFAULT_TIMEZONE
        rows = (
            _indexed(data_dir, index, q, digits, limit, phone_fragments)
            if index
            else _scanned(data_dir, q, digits, limit, phone_fragments, zone)
        )
    if engine is not None and not any(r["member_id"] == q for r in rows):
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            found = execute(conn, "SELECT member_id, tier FROM members WHERE member_id = ?", [q])
        if found:
            rows.insert(
                0, {**{c: None for c in COLUMNS}, "member_id": found[0][0], "tier": found[0][1], "status": None}
            )
    out = []
    for r in rows[:limit]:
        r = pii.mask_row(r, reveal)
        r["join_date"] = str(r["join_date"]) if r.get("join_date") else None
        out.append(r)
    return out


def _latest_snapshot(data_dir: Path) -> list[str]:
    """The files of the latest close snapshot (its month in the close's Delta table); none before a close."""
    snaps = store.months(data_dir, "snapshots")
    return store.uris(data_dir, "snapshots", snaps[-1]) if snaps else []


def _prefixes(q: str, digits: str | None, phone_fragments: bool) -> list[str]:
    keys = ["i:" + q, "n:" + q]
    if digits:
        number = digits.lstrip("+")
        keys += ["p:" + number, "s:" + number] + (["r:" + number[::-1]] if phone_fragments else [])
    return keys


def _indexed(data_dir: Path, index: Path, q: str, digits: str | None, limit: int, phone_fragments: bool) -> list[dict]:
    """Through the search index: the members whose id or name starts with ``q``, whose phone or second number
    is ``q``, or (``phone_fragments``) whose phone ends with its digits; read from their row groups only."""
    number = digits.lstrip("+") if digits else None
    ids: set[str] = set()
    for key, member_id in search_index.matches(index, _prefixes(q, digits, phone_fragments), limit):
        if key[:2] in ("p:", "s:") and key[2:] != number:
            continue  # a whole number matches whole; its last digits match through the reversed key

        ids.add(member_id)
    ordered = sorted(ids, key=lambda m: (m != q, m))[:limit]
    found = archive.members_rows(data_dir, ordered, list(COLUMNS))
    snap = _latest_snapshot(data_dir)
    tiers = {r["member_id"]: r for f in snap for r in rows_of_many(Path(f), ordered, ["member_id", "tier", "status"])}
    return [
        {**found[m], "tier": tiers.get(m, {}).get("tier"), "status": tiers.get(m, {}).get("status")}
        for m in ordered
        if m in found
    ]


def _scanned(
    data_dir: Path, q: str, digits: str | None, limit: int, phone_fragments: bool, zone: str = DEFAULT_TIMEZONE
) -> list[dict]:
    """One DuckDB query over the archive's current rows (no index yet, or the archive changed since); times in
    ``zone`` (the active plan's)."""
    snap = _latest_snapshot(data_dir)
    tier_join = "LEFT JOIN (SELECT member_id, tier, status FROM read_parquet(?)) s USING (member_id)" if snap else ""
    tier_cols = "s.tier, s.status" if snap else "NULL AS tier, NULL AS status"
    cols = ", ".join(f"m.{c}" for c in COLUMNS)
    conds = ["m.member_id = ?", "m.member_id LIKE ? ESCAPE '\\'", "m.name LIKE ? ESCAPE '\\'"]
    params: list = [q, _like(q) + "%", _like(q) + "%"]
    if digits:
        number = digits.lstrip("+")
        conds += ["m.phone = ?", "m.second_contact = ?"]
        params += [number, number]
        if phone_fragments:
            conds.append("m.phone LIKE ? ESCAPE '\\'")
            params.append("%" + _like(number))
    sql = (
        f"SELECT {cols}, {tier_cols} FROM ({archive.scan_sql(data_dir, 'members')}) m {tier_join} "
        f"WHERE {' OR '.join(conds)} ORDER BY (m.member_id = ?) DESC, m.member_id LIMIT ?"
    )
    con = duck.connect()
    try:
        con.execute(f"SET TimeZone = '{zone}'")
        result = con.execute(sql, ([snap] if snap else []) + params + [q, int(limit)])
        names = [d[0] for d in result.description]
        return [dict(zip(names, r)) for r in result.fetchall()]
    finally:
        con.close()


def _by_digits(query: str) -> bool:
    """Whether ``query`` is searched as a phone number (whole, or its last 4+ digits when allowed)."""
    return re.fullmatch(r"\+?\d{4,20}", (query or "").strip()) is not None


def search_audited(
    engine: Engine,
    data_dir: Path,
    user: User,
    query: str,
    limit: int = DEFAULT_LIMIT,
    reveal: bool = False,
    phone_fragments: bool = False,
) -> list[dict]:
    """:func:`search`, writing to the audit log (``pii.view``) the members shown unmasked and every search by
    digits that may match the end of a phone number (``phone_fragments``), even one that finds nobody: either
    tells the caller something about a number."""
    rows = search(data_dir, query, engine, limit, reveal, phone_fragments)
    by_digits = phone_fragments and _by_digits(query)
    if (reveal and rows) or by_digits:
        detail = {"match": "phone_digits"} if by_digits else {}
        pii_audit.record(
            engine,
            user,
            "member_search",
            [r["member_id"] for r in rows],
            query=query,
            fields=["phone"] if reveal else [],
            **detail,
        )
    return rows


def show(
    engine: Engine, data_dir: Path, user: User, member_id: str, today: date | None = None, reveal: bool = False
) -> dict | None:
    """Member 360 (:func:`weixi.members.member360.member_360`), audited when shown unmasked."""
    found = member_360(engine, data_dir, member_id, today=today, reveal=reveal)
    if found is not None and reveal and found.get("profile"):
        pii_audit.record(engine, user, "member_360", [member_id], fields=sorted(pii.PII_FIELDS))
    return found
