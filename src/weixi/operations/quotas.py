"""Per-person quotas (issue 20 §4; the recreation-department plan: "月饼指标、圣诞票指标任务到人。实习生除外"):
for a period (a month, ``YYYY-MM``) a lead gives each manager a quantity of an item (月饼, 圣诞票, …); the manager
hands it out against members, and the remaining quantity is shown. Interns (``intern`` on the roster) get no quota,
as the plan says. A hand-out never takes a quota below zero, however many are recorded at once (one write at a
time per quota)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from weixi.adapters.sql import execute, is_pg
from weixi.operations.clock import local, now, zone
from weixi.operations.errors import OperationsConflict, OperationsError, StaffNotFound, UnknownTask

ITEM_MAX = 64
QUANTITY_MAX = 100_000
EXCLUDED_ROLES = ("intern",)


class QuotaNotFound(UnknownTask):
    """No quota with that id."""


def _quantity(value: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > QUANTITY_MAX:
        raise OperationsError("quota_quantity_invalid", field=what, value=str(value)[:16], max=QUANTITY_MAX)
    return value


def set_quota(
    engine: Engine, period: str, item: str, staff_id: str, quantity: int, by: str, at: datetime | None = None
) -> dict:
    """Give ``staff_id`` ``quantity`` of ``item`` for ``period`` (set again: the new quantity, never below what
    was already handed out)."""
    item = (item or "").strip()
    if not item or len(item) > ITEM_MAX:
        raise OperationsError("quota_item_invalid", max=ITEM_MAX)
    quantity = _quantity(quantity, "quantity")
    at = at or now(engine)
    with engine.begin() as conn:
        staff = execute(conn, "SELECT role, active FROM ops_staff WHERE staff_id = ?", [staff_id])
        if not staff:
            raise StaffNotFound("staff_not_found", staff=staff_id)
        if staff[0][0] in EXCLUDED_ROLES:
            raise OperationsConflict("quota_intern_excluded", staff=staff_id, item=item)
        found = execute(
            conn, "SELECT id FROM ops_quotas WHERE period = ? AND item = ? AND staff_id = ?", [period, item, staff_id]
        )
        if found:
            qid = found[0][0]
            given = _handed_out(conn, qid)
            if quantity < given:
                raise OperationsConflict("quota_below_handed_out", item=item, staff=staff_id, given=given)
            execute(
                conn,
                "UPDATE ops_quotas SET quantity = ?, set_by = ?, set_at = ? WHERE id = ?",
                [quantity, by, at, qid],
            )
        else:
            execute(
                conn,
                "INSERT INTO ops_quotas (period, item, staff_id, quantity, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)",
                [period, item, staff_id, quantity, by, at],
            )
            qid = execute(
                conn,
                "SELECT id FROM ops_quotas WHERE period = ? AND item = ? AND staff_id = ?",
                [period, item, staff_id],
            )[0][0]
    return get_quota(engine, qid)


def _handed_out(conn, quota_id: int) -> int:
    return int(
        execute(conn, "SELECT coalesce(sum(quantity), 0) FROM ops_quota_handouts WHERE quota_id = ?", [quota_id])[0][0]
    )


QUOTA_SQL = """SELECT q.id, q.period, q.item, q.staff_id, s.name, q.quantity, coalesce(h.given, 0), q.set_by
    FROM ops_quotas q LEFT JOIN ops_staff s ON s.staff_id = q.staff_id
    LEFT JOIN (SELECT quota_id, sum(quantity) AS given FROM ops_quota_handouts GROUP BY quota_id) h
      ON h.quota_id = q.id"""
QUOTA_KEYS = ("quota_id", "period", "item", "staff_id", "name", "quantity", "handed_out", "set_by")


def _row(r) -> dict:
    d = dict(zip(QUOTA_KEYS, r))
    d["handed_out"] = int(d["handed_out"])
    d["remaining"] = int(d["quantity"]) - d["handed_out"]
    return d


def get_quota(engine: Engine, quota_id: int) -> dict:
    with engine.connect() as conn:
        rows = execute(conn, QUOTA_SQL + " WHERE q.id = ?", [quota_id])
    if not rows:
        raise QuotaNotFound("quota_not_found", quota=quota_id)
    return _row(rows[0])


def quotas(engine: Engine, period: str, staff_ids: list[str] | None = None) -> list[dict]:
    """Every quota of ``period`` (only ``staff_ids``' when given) with what was handed out and what remains."""
    where, params = " WHERE q.period = ?", [period]
    if staff_ids is not None:
        where += f" AND q.staff_id IN ({', '.join('?' for _ in staff_ids) or 'NULL'})"
        params += list(staff_ids)
    with engine.connect() as conn:
        rows = execute(conn, QUOTA_SQL + where + " ORDER BY q.item, q.staff_id", params)
    return [_row(r) for r in rows]


def hand_out(
    engine: Engine,
    quota_id: int,
    member_id: str,
    quantity: int,
    by: str,
    note: str | None = None,
    at: datetime | None = None,
) -> dict:
    """Hand ``quantity`` of a quota's item to ``member_id``; refused (nothing recorded) beyond what remains."""
    member_id = (member_id or "").strip()
    if not member_id:
        raise OperationsError("quota_member_missing")
    quantity = _quantity(quantity, "quantity")
    if quantity == 0:
        raise OperationsError("quota_quantity_invalid", field="quantity", value="0", max=QUANTITY_MAX)
    at = at or now(engine)
    with engine.begin() as conn:
        lock = " FOR UPDATE" if is_pg(conn) else ""
        row = execute(conn, f"SELECT quantity, item, staff_id FROM ops_quotas WHERE id = ?{lock}", [quota_id])
        if not row:
            raise QuotaNotFound("quota_not_found", quota=quota_id)
        total, item, staff_id = row[0]
        left = int(total) - _handed_out(conn, quota_id)
        if quantity > left:
            raise OperationsConflict("quota_exhausted", item=item, staff=staff_id, wanted=quantity, remaining=left)
        execute(
            conn,
            "INSERT INTO ops_quota_handouts (quota_id, member_id, quantity, note, by_user, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [quota_id, member_id, quantity, (note or "").strip()[:500] or None, by, at],
        )
    return get_quota(engine, quota_id)


def handouts(engine: Engine, quota_id: int, limit: int = 200) -> list[dict]:
    with engine.connect() as conn:
        tz = zone(conn)
        rows = execute(
            conn,
            "SELECT member_id, quantity, note, by_user, at FROM ops_quota_handouts WHERE quota_id = ?"
            " ORDER BY at DESC, id DESC LIMIT ?",
            [quota_id, limit],
        )
    return [
        {
            "member_id": m,
            "quantity": int(n),
            "note": note,
            "by": by,
            "at": local(at, tz).strftime("%Y-%m-%d %H:%M"),
        }
        for m, n, note, by, at in rows
    ]
