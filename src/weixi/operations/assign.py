"""Members to customer managers by the plan's ratios, set-based in DuckDB.

Load is counted in units: with ratios 1:200, 1:500 and 1:1000 a manager holds ``L = lcm(200, 500, 1000) = 1000``
units and a diamond member costs ``L/200 = 5``, a gold one 2, a silver one 1 — so a manager may mix tiers and
still never hold more than the ratios allow (200 diamond, or 500 gold, or 1000 silver, or any mix in proportion).

1. Continuity: a member keeps the manager of last month's assignment (or the CRM's ``manager_id`` the first
   time) when that manager is still active, may hold the member's tier (``holders`` roles, ``shifts``) and has
   room; room is given to the members held longest first, so a manager over capacity after tier changes releases
   the newest ones.
2. Everyone else of a tier with a ratio is dealt to the eligible managers with the lowest load first
   (water-filling: slot *k* of a manager is ranked by the load it would leave, ``used + k * weight``), tiers with
   the dearest members first.
3. Members of tiers without a ratio have no dedicated manager: their tasks go to the plan's pool (the OB group).
   Members that find no room are reported (``no_capacity``) with the number of managers the tier lacks.

A ratio is for a points tier or for star levels (星级): a member's ratio group (``grade``) is the first
``assignment.tiers`` entry it matches (:func:`weixi.operations.promotions.grade_sql`); "tier" below means that group.

Tables read: ``ops_members`` (member_id, tier, grade, prev_staff, since) and ``ops_staff`` (staff_id, role, team,
shift, active). Table written: ``ops_assignment`` (member_id, tier, staff_id, team, since, status, grade) for the
members of a ratio group (kept, moved, new, no_capacity); the pool members (no group) are not copied into it — they
are the rows of ``ops_members`` that :func:`pool_sql` selects, and :func:`assignment_sql` gives both (the file).
"""

from __future__ import annotations

from datetime import date
from math import lcm

import duckdb

from weixi.adapters.duck import lit, lit_in
from weixi.operations import share_out
from weixi.operations.plan import OperationsPlan


def units(plan: OperationsPlan) -> int:
    return lcm(*[t.ratio for t in plan.tiers]) if plan.tiers else 1


def eligible_sql(plan: OperationsPlan, tier_col: str = "m.grade", staff: str = "s") -> str:
    """Whether staff ``s`` may hold a member of tier ``tier_col``."""
    arms = []
    for t in plan.tiers:
        cond = f"{staff}.role IN {lit_in(t.holders)}"
        if t.shifts:
            cond += f" AND {staff}.shift IN {lit_in(t.shifts)}"
        arms.append(f"WHEN {lit(t.key)} THEN ({cond})")
    return f"(CASE {tier_col} {' '.join(arms)} ELSE FALSE END)" if arms else "FALSE"


def weight_sql(plan: OperationsPlan, tier_col: str = "grade") -> str:
    total = units(plan)
    arms = " ".join(f"WHEN {lit(t.key)} THEN {total // t.ratio}" for t in plan.tiers)
    return f"(CASE {tier_col} {arms} ELSE 0 END)" if arms else "0"


def assign(con: duckdb.DuckDBPyConnection, plan: OperationsPlan, run_date: date, lots_seed: str | None = None) -> dict:
    """Create ``ops_assignment``; returns the counts per tier and status and the shortfall per tier. ``lots_seed``:
    the members without a manager are dealt by this drawn lot (:mod:`weixi.operations.share_out`); with
    ``share_out.introduced_first`` a member goes to who introduced them first (``ops_members.introducer``)."""
    total = units(plan)
    tiers = [t.key for t in plan.tiers]
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_stay AS
        WITH cand AS (
          SELECT m.member_id, m.tier, m.prev_staff AS staff_id, s.team, coalesce(m.since, DATE {lit(run_date)}) AS since,
                 {weight_sql(plan, "m.grade")} AS w, m.grade
          FROM ops_members m JOIN ops_staff s ON s.staff_id = m.prev_staff
          WHERE s.active AND m.grade IN {lit_in(tiers)} AND {eligible_sql(plan)})
        SELECT *, sum(w) OVER (PARTITION BY staff_id ORDER BY since, member_id ROWS UNBOUNDED PRECEDING) AS load_after
        FROM cand""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_assignment AS
        SELECT member_id, tier, staff_id, team, since, 'kept' AS status, grade FROM ops_stay
        WHERE load_after <= {total}""")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ops_used AS SELECT staff_id, sum(w) AS used FROM ops_stay "
        f"WHERE load_after <= {total} GROUP BY staff_id"
    )
    shortfall = {}
    for t in sorted(plan.tiers, key=lambda t: t.ratio):  # dearest members first
        w = total // t.ratio
        if plan.share_out.introduced_first:
            _introduced(con, plan, t, w, total, run_date)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_free AS
            SELECT m.member_id, m.tier, m.prev_staff, row_number() OVER (ORDER BY {share_out.member_order(lots_seed)}) AS n
            FROM ops_members m ANTI JOIN ops_assignment a ON a.member_id = m.member_id
            WHERE m.grade = {lit(t.key)}""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_room AS
            SELECT s.staff_id, s.team, coalesce(u.used, 0) AS used,
                   CAST(floor(({total} - coalesce(u.used, 0)) / {w}) AS BIGINT) AS free
            FROM ops_staff s LEFT JOIN ops_used u ON u.staff_id = s.staff_id
            WHERE s.active AND {eligible_sql(plan, lit(t.key))} AND ({total} - coalesce(u.used, 0)) >= {w}""")
        need, managers, spread, room = con.execute(
            "SELECT (SELECT count(*) FROM ops_free), count(*), coalesce(max(used) - min(used), 0), coalesce(sum(free), 0)"
            " FROM ops_room"
        ).fetchone()
        # Water-filling only ever uses the lowest-load slots: a manager needs at most the level that absorbs the
        # members evenly plus the load spread; when capacity binds that is not enough, and every slot is made.
        cap = -(-need // max(managers, 1)) + -(-int(spread) // w) + 1
        for limit in (cap, None):
            bound = f"AND k.k <= {limit}" if limit is not None else ""
            con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_slots AS
                SELECT r.staff_id, r.team, row_number() OVER (ORDER BY r.used + k.k * {w}, {share_out.staff_order(lots_seed)}) AS n
                FROM ops_room r JOIN range(1, (SELECT coalesce(max(free), 0) FROM ops_room) + 1) k(k)
                  ON k.k <= r.free {bound}""")
            if con.execute("SELECT count(*) FROM ops_slots").fetchone()[0] >= min(need, room):
                break
        con.execute(f"""INSERT INTO ops_assignment
            SELECT f.member_id, f.tier, s.staff_id, s.team, DATE {lit(run_date)},
                   CASE WHEN f.prev_staff IS NULL THEN 'new' ELSE 'moved' END, {lit(t.key)}
            FROM ops_free f JOIN ops_slots s ON s.n = f.n""")
        con.execute(f"""INSERT INTO ops_assignment
            SELECT f.member_id, f.tier, NULL, NULL, NULL, 'no_capacity', {lit(t.key)}
            FROM ops_free f WHERE f.n > (SELECT count(*) FROM ops_slots)""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_used AS
            SELECT staff_id, sum({weight_sql(plan)}) AS used FROM ops_assignment WHERE staff_id IS NOT NULL
            GROUP BY staff_id""")
        short = con.execute(
            f"SELECT count(*) FROM ops_assignment WHERE status = 'no_capacity' AND grade = {lit(t.key)}"
        ).fetchone()[0]
        if short:
            shortfall[t.key] = {
                "members": int(short),
                "ratio": f"1:{t.ratio}",
                "managers_needed": -(-int(short) // t.ratio),
            }
    counts = con.execute("SELECT grade, status, count(*) FROM ops_assignment GROUP BY ALL").fetchall()
    counts += con.execute(
        f"SELECT coalesce(tier, '-'), 'pool', count(*) FROM ({pool_sql(plan)}) GROUP BY ALL"
    ).fetchall()
    by: dict = {}
    for tier, status, n in sorted(counts):
        by.setdefault(tier, {})[status] = int(n)
    return {"by_tier": by, "shortfall": shortfall, "units_per_manager": total}


def _introduced(con, plan: OperationsPlan, t, w: int, total: int, run_date: date) -> None:
    """Members of ratio group ``t`` without a manager go to who introduced them first, earliest introductions first,
    while that staff member is active, may hold the group and has room (康乐部: "维护名额分配给为客人先介绍的人员")."""
    con.execute(f"""INSERT INTO ops_assignment
        SELECT member_id, tier, staff_id, team, DATE {lit(run_date)}, 'introduced', {lit(t.key)} FROM (
          SELECT m.member_id, m.tier, s.staff_id, s.team, coalesce(u.used, 0) + sum({w}) OVER (
                   PARTITION BY s.staff_id ORDER BY m.introduced_at, m.member_id ROWS UNBOUNDED PRECEDING) AS load_after
          FROM ops_members m JOIN ops_staff s ON s.staff_id = m.introducer
          LEFT JOIN ops_used u ON u.staff_id = s.staff_id
          WHERE m.grade = {lit(t.key)} AND s.active AND {eligible_sql(plan, lit(t.key))}
            AND NOT EXISTS (SELECT 1 FROM ops_assignment a WHERE a.member_id = m.member_id))
        WHERE load_after <= {total}""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_used AS
        SELECT staff_id, sum({weight_sql(plan)}) AS used FROM ops_assignment WHERE staff_id IS NOT NULL
        GROUP BY staff_id""")


def pool_sql(plan: OperationsPlan) -> str:
    """The members without a dedicated manager (in no ratio group): worked by the pool."""
    return "SELECT m.member_id, m.tier FROM ops_members m WHERE m.grade IS NULL"


def assignment_sql(plan: OperationsPlan) -> str:
    """Every active member's assignment (the month's file): ``ops_assignment`` plus the pool members; ``tier`` is
    the member's points tier, ``grade`` the ratio group that holds it (NULL: the pool)."""
    return (
        "SELECT member_id, tier, staff_id, team, since, status, grade FROM ops_assignment UNION ALL "
        "SELECT member_id, tier, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS DATE), 'pool', "
        f"CAST(NULL AS VARCHAR) FROM ({pool_sql(plan)})"
    )
