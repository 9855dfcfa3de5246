"""The close's accrual as DuckDB SQL: the rows the bulk path (:mod:`weixi.ledger.bulk`) writes for a
month of bills and recharges, computed set-based instead of in a Python loop over every bill.

Same arithmetic, same rows, same order: points are integers computed from fen and the plan's exact rates
(``Compiled``), the notes are the bulk path's text, the journal entries carry the order the bulk path posts them
in (``seq``: bills by day and id, then recharges by moment and id; then ``o_grp, o_j, o_k``: per event its rules
in plan order, then the tier multipliers' extras). The tables are not sorted: whoever reads one orders it by these
columns. ``tests/integration/test_accrual_sql.py`` compares every table with the bulk path.

Pure text: nothing here reads or writes; :mod:`weixi.close.accrual_load` runs the statements.

The tables the statements read (made by the loader):

- ``acc_src(seq, type, event_id, member_id, day, moment, amount_fen, service_type)``: the month's paid bills then
  recharges, ``seq`` their posting order; ``moment`` a recharge's moment (NULL for a bill);
- ``acc_days``: one row per day of those events (:func:`day_rows`);
- ``acc_seen(event_id)``, ``acc_rejected(event_id, reason)``: ids the ledger already has;
- ``acc_stored(member_id, tier, debt)``: the members the ledger already has.

Posted events (``weixi events post``, :mod:`weixi.close.post_lake`; ``statements(..., posted=True)``) carry three
more columns in ``acc_src``: ``occurred_text`` (the moment as the ledger stores it), ``attrs_text`` (the attrs' JSON as
the bulk path writes it) and ``tier`` (the event's ``tier`` attr, NULL: none), which sets the member's tier for it and
the member's later events, as the bulk path does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from weixi.close.moment_text import stamp
from weixi.ledger.bulk import CEIL, FLOOR, MAX_FEN, Compiled
from weixi.ledger.expiry import expires_on
from weixi.plans.model import Plan


def _lit(value) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def _round(n: str, den, mode: int) -> str:
    """SQL for ``n / den`` rounded as the bulk path rounds (``n >= 0``, ``den > 0``; ``den`` a number or a
    column), in HUGEINT."""
    if mode == FLOOR:
        return f"(({n}) // {den})"
    if mode == CEIL:
        return f"((({n}) + {den} - 1) // {den})"
    return f"((2 * ({n}) + {den}) // (2 * {den}))"


_INT64 = 2**63 - 1


def _int_type(bound: int) -> str:
    """BIGINT when no intermediate of the arithmetic can exceed ``bound`` beyond int64, else HUGEINT."""
    return "BIGINT" if bound <= _INT64 else "HUGEINT"


def _rule_bounds(r) -> tuple[int, int]:
    """(the largest intermediate, the most points) of a base rule's arithmetic for an amount below ``MAX_FEN``
    (the callers leave larger amounts to the Book)."""
    top = (MAX_FEN - 1) * r.num
    if r.spend:  # n // den, n + den - 1, 2 * n + den and 2 * den (:func:`_round`)
        return 2 * top + 2 * r.den, top // r.den + 1
    most = top // r.den * abs(r.block_points)
    return max(top, most), most


def _mult_bound(c: Compiled) -> int:
    """The largest intermediate of a tier extra: points times the largest ``tnum``, rounded by ``tden``."""
    tiers = [t for t in (*c.tiers.values(), c.default) if t is not None]
    if not tiers:
        return 0
    most = max((_rule_bounds(r)[1] for rules in c.rules.values() for r in rules), default=0)
    return 2 * most * max(abs(t[0]) for t in tiers) + 2 * max(abs(t[1]) for t in tiers)


def day_columns(c: Compiled) -> list[str]:
    cols = ["day", "day_text", "bill_at", "expires_text"]
    for etype, rules in c.rules.items():
        cols += [f"open_{etype}_{k}" for k in range(len(rules))]
    return cols + [f"open_mult_{j}" for j in range(len(c.mults))]


def day_rows(c: Compiled, plan: Plan, days: list[date]) -> list[list]:
    """Per day: its ISO text, a bill's moment that day (23:59:59 in the plan's timezone, ISO text as the ledger
    stores it), the expiry date of points earned that day, and which rules and multipliers are open."""
    tz = ZoneInfo(plan.timezone)
    rows = []
    for d in days:
        exp = expires_on(plan.expiry, d)
        row = [
            d.isoformat(),
            d.isoformat(),
            datetime.combine(d, time(23, 59, 59), tzinfo=tz).isoformat(),
            exp.isoformat() if exp else None,
        ]
        for rules in c.rules.values():
            row += [r.window is None or r.window.contains(d) for r in rules]
        row += [m.window is None or m.window.contains(d) for m in c.mults]
        rows.append(row)
    return rows


def _yuan_text(fen: str) -> str:
    """``bulk.yuan_text`` in SQL: 128.5, 100, 0.05."""
    whole, cents = f"({fen} // 100)", f"({fen} % 100)"
    return (
        f"CASE WHEN {cents} = 0 THEN CAST({whole} AS VARCHAR) "
        f"WHEN {cents} % 10 = 0 THEN CAST({whole} AS VARCHAR) || '.' || CAST({cents} // 10 AS VARCHAR) "
        f"ELSE CAST({whole} AS VARCHAR) || '.' || lpad(CAST({cents} AS VARCHAR), 2, '0') END"
    )


def _plan_tiers(c: Compiled) -> tuple[str, list[str]]:
    """The plan's tiers as a table ``t(tier, tnum, tden, tid, ttext)`` (a tier's extra, NULLs when its multiplier
    is 1 or below) and the default tier's four values as SQL literals (NULLs: none)."""
    values = ", ".join(
        f"({_lit(tid)}, {t[0] if t else 'NULL'}, {t[1] if t else 'NULL'}, {_lit(t[2]) if t else 'NULL'}, "
        f"{_lit(t[3]) if t else 'NULL'})"
        for tid, t in c.tiers.items()
    )
    table = (
        f"(VALUES {values}) AS t(tier, tnum, tden, tid, ttext)"
        if values
        else "(SELECT NULL::VARCHAR AS tier, NULL::HUGEINT AS tnum, NULL::HUGEINT AS tden, NULL::VARCHAR AS tid, "
        "NULL::VARCHAR AS ttext WHERE false) AS t"
    )
    d = c.default
    return table, ([str(d[0]), str(d[1]), _lit(d[2]), _lit(d[3])] if d else ["NULL"] * 4)


def _moment_attrs(
    posted: bool, bill_at: str = "d.bill_at", service_types: list[str] | None = None, offset: int | None = None
) -> tuple[str, str]:
    """An event's moment and attrs as the ledger stores them, from ``acc_new n`` and ``acc_days d`` (``bill_at``:
    the day's bill moment): a bill's moment is its day's (23:59:59), a recharge's its own; the attrs its service
    type. Posted events carry both as text. ``service_types``: the ones the rows hold, whose attrs are written as
    literals (the Book's JSON text, made here once) instead of built row by row. ``offset``: see :func:`~weixi.close.moment_text.stamp`."""
    if posted:
        return "n.occurred_text", "n.attrs_text"
    built = "'{\"service_type\": ' || CAST(to_json(n.service_type) AS VARCHAR) || '}'"
    known = "".join(
        f" WHEN n.service_type = {_lit(t)} THEN {_lit(json.dumps({'service_type': t}, ensure_ascii=False))}"
        for t in service_types or []
    )
    return (
        f"CASE WHEN n.moment IS NULL THEN {bill_at} ELSE {stamp('n.moment', offset)} END",
        f"CASE WHEN n.service_type IS NULL THEN NULL{known} ELSE {built} END",
    )


@dataclass
class Statements:
    """The statements in the order the loader runs them; each ``CREATE``s the table of its name."""

    new: str  # acc_new: the events to post (not seen, not rejected, first of their id in the input)
    base: str  # acc_base: one row per (event, base rule) with points > 0
    tiers: str  # acc_member_tier: each posting member's tier extra (tnum, tden, tid, ttext), NULL: none
    journal: str  # acc_journal: the earn entries, in posting order
    events: str  # acc_events: the events rows, in posting order
    lots: str  # acc_lots
    members: str  # acc_members: per posting member, first day and points (new or stored)
    outcome: str  # one row: posted, duplicates (a SELECT, not a table; REJECTIONS_SQL counts the rejections)


def statements(c: Compiled, version: int | None, posted: bool = False, distinct_ids: bool = False) -> Statements:
    """``posted``: ``acc_src`` holds posted events with their own moment text, attrs and tier (see the module doc).
    ``distinct_ids``: no event id is in ``acc_src`` twice (a post whose file repeats none): every row is the first
    of its id, ``acc_new`` is found without grouping the rows by id and the duplicates are the ids seen.
    The lake's rows take ``new`` and then :func:`lake_events` instead of the other tables.

    Written for speed (a post of 300,000 bills runs them all): the arithmetic is in BIGINT where the plan's rates
    keep every intermediate of an amount below ``bulk.MAX_FEN`` within it (:func:`_int_type`; DuckDB raises on an
    overflow, it never wraps), a rule or multiplier open every day reads no day table, and no statement sorts its
    table: every reader orders what it reads (the loaders by ``seq``, the lake's rows by member)."""
    v = "NULL" if version is None else str(int(version))
    # the first row of each id (by seq). The rows are grouped by the ids' 64-bit hash, not by the ids: a hash held
    # by one row is one id's only row; only the rows of a hash held twice (a repeated id, or two ids whose hashes
    # collide) are grouped by id for their first. (Grouping 18,000,000 ids as text took 20.7 s at 10,000,000
    # members.) Not a window sorting the rows by id.
    first = (
        ""
        if distinct_ids
        else " WITH twice AS (SELECT h FROM (SELECT hash(event_id) AS h FROM acc_src) GROUP BY h HAVING count(*) > 1) "
    )
    keep = (
        ""
        if distinct_ids
        else "(hash(s.event_id) NOT IN (SELECT h FROM twice) OR s.seq IN (SELECT min(seq) FROM acc_src "
        "WHERE hash(event_id) IN (SELECT h FROM twice) GROUP BY event_id)) AND "
    )
    new = (
        f"CREATE OR REPLACE TEMP TABLE acc_new AS{first} SELECT s.* FROM acc_src s WHERE {keep}s.event_id NOT IN "
        "(SELECT event_id FROM acc_seen) AND s.event_id NOT IN (SELECT event_id FROM acc_rejected)"
    )
    parts = []
    for etype, rules in c.rules.items():
        for k, r in enumerate(rules):
            fen = f"CAST(coalesce(n.amount_fen, 0) AS {_int_type(_rule_bounds(r)[0])})"
            if r.spend:
                pts = _round(f"{fen} * {r.num}", r.den, r.mode)
                note = f"{_yuan_text(fen)} || {_lit(' yuan x ' + r.note)}"
                where = (
                    f" AND n.service_type IN ({', '.join(_lit(s) for s in r.service_types)})" if r.service_types else ""
                )
            else:
                pts = f"(({fen} * {r.num} // {r.den}) * {r.block_points})"
                note = f"CAST({fen} * {r.num} // {r.den} AS VARCHAR) || {_lit(' full blocks of ' + r.note)}"
                where = ""
            days = "" if r.window is None else " JOIN acc_days d USING (day)"
            where += "" if r.window is None else f" AND d.open_{etype}_{k}"
            parts.append(
                f"SELECT seq, member_id, event_id, day, {k} AS k, {_lit(r.id)} AS rule_id, {pts} AS pts, "
                f"{note} AS note FROM acc_new n{days} WHERE n.type = {_lit(etype)}{where}"
            )
    base_select = (
        " UNION ALL ".join(parts)
        if parts
        else "SELECT NULL::BIGINT AS seq, NULL::VARCHAR AS member_id, NULL::VARCHAR AS event_id, NULL::DATE AS day, "
        "0 AS k, NULL::VARCHAR AS rule_id, NULL::HUGEINT AS pts, NULL::VARCHAR AS note WHERE false"
    )
    base = f"CREATE OR REPLACE TEMP TABLE acc_base AS SELECT * FROM ({base_select}) WHERE pts > 0"

    plan_tiers, d = _plan_tiers(c)
    # a stored tier the plan knows gives its own extra (none when its multiplier is 1 or below); no stored tier,
    # or one the plan does not know, gives the default tier's
    extras = (
        f"CASE WHEN t.tier IS NULL THEN {d[0]} ELSE t.tnum END AS tnum, "
        f"CASE WHEN t.tier IS NULL THEN {d[1]} ELSE t.tden END AS tden, "
        f"CASE WHEN t.tier IS NULL THEN {d[2]} ELSE t.tid END AS tid, "
        f"CASE WHEN t.tier IS NULL THEN {d[3]} ELSE t.ttext END AS ttext "
    )
    tier_table = "CREATE OR REPLACE TEMP TABLE acc_member_tier AS "
    if not c.mults:  # no tier multiplier: no extra to look up
        tiers = (
            f"{tier_table}SELECT NULL::BIGINT AS tseq, NULL::VARCHAR AS member_id, NULL::HUGEINT AS tnum, "
            "NULL::HUGEINT AS tden, NULL::VARCHAR AS tid, NULL::VARCHAR AS ttext WHERE false"
        )
    elif posted:  # per event: its member's last tier attr so far (posted events only), else the stored tier
        tiers = (
            f"{tier_table}SELECT m.seq AS tseq, m.member_id, {extras}FROM (SELECT * FROM ("
            "SELECT n.seq, n.member_id, coalesce(last_value(n.tier IGNORE NULLS) OVER (PARTITION BY n.member_id "
            "ORDER BY n.seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), s.tier) AS tier FROM acc_new n "
            "LEFT JOIN acc_stored s USING (member_id)) WHERE seq IN (SELECT seq FROM acc_base)) m "
            f"LEFT JOIN {plan_tiers} ON t.tier = m.tier"
        )
    else:
        tiers = (
            f"{tier_table}SELECT m.member_id, {extras}"
            f"FROM (SELECT DISTINCT member_id FROM acc_base) m LEFT JOIN acc_stored s USING (member_id) "
            f"LEFT JOIN {plan_tiers} ON t.tier = s.tier"
        )
    tier_join = "ON mt.tseq = b.seq" if posted else "USING (member_id)"
    entries = ["SELECT seq, member_id, event_id, day, 0 AS grp, 0 AS j, k, rule_id, pts, note FROM acc_base"]
    big = _int_type(_mult_bound(c))
    for j, m in enumerate(c.mults):
        only = (
            f" AND b.rule_id IN ({', '.join(_lit(r) for r in sorted(m.applies_to))})"
            if m.applies_to is not None and not m.applies_to >= {r.id for rs in c.rules.values() for r in rs}
            else ""
        )
        extra = _round(f"CAST(b.pts AS {big}) * mt.tnum", "mt.tden", m.mode)
        days, open_ = ("", "") if m.window is None else (" JOIN acc_days d ON d.day = b.day", f"d.open_mult_{j} AND ")
        entries.append(
            f"SELECT * FROM (SELECT b.seq, b.member_id, b.event_id, b.day, 1 AS grp, {j} AS j, b.k, "
            f"{_lit(m.id)} AS rule_id, {extra} AS pts, "
            # one concat, not five ||s (tid and ttext are set where tnum is)
            f"concat('tier ', mt.tid, ': ', CAST(b.pts AS VARCHAR), ' x (', mt.ttext, ' - 1)') AS note "
            f"FROM acc_base b JOIN acc_member_tier mt {tier_join}{days} "
            f"WHERE {open_}mt.tnum IS NOT NULL{only}) WHERE pts > 0"
        )
    journal_columns = (
        "e.member_id, d.day_text AS day, 'earn' AS kind, CAST(e.pts AS BIGINT) AS points, "
        "CAST(0 AS BIGINT) AS debt_delta, e.event_id AS lot_id, e.event_id, e.rule_id, e.note, "
        f"CAST({v} AS BIGINT) AS plan_version, e.seq, "
    )
    journal = (
        f"CREATE OR REPLACE TEMP TABLE acc_journal AS SELECT {journal_columns}e.grp AS o_grp, e.j AS o_j, e.k AS o_k "
        f"FROM ({' UNION ALL '.join(entries)}) e JOIN acc_days d ON d.day = e.day"
    )
    moment, attrs = _moment_attrs(posted)
    events = (
        "CREATE OR REPLACE TEMP TABLE acc_events AS SELECT n.event_id, n.member_id, n.type, "
        f"{moment} AS occurred_at, d.day_text AS day, "
        "n.amount_fen, CAST(NULL AS BIGINT) AS points, CAST(NULL AS VARCHAR) AS ref, "
        f"{attrs} AS attrs, "
        f"CAST(coalesce(p.earned, 0) AS BIGINT) AS earned, CAST({v} AS BIGINT) AS plan_version, n.seq "
        "FROM acc_new n JOIN acc_days d USING (day) "
        "LEFT JOIN (SELECT seq, sum(points) AS earned FROM acc_journal GROUP BY seq) p USING (seq)"
    )
    lots = (
        "CREATE OR REPLACE TEMP TABLE acc_lots AS SELECT e.event_id AS lot_id, e.member_id, e.day AS earned_on, "
        "d.expires_text AS expires_on, e.earned AS points, e.earned AS remaining, CAST(0 AS BIGINT) AS deficit, "
        "e.plan_version, e.seq FROM acc_events e JOIN acc_days d ON d.day_text = e.day WHERE e.earned > 0"
    )
    members = (
        "CREATE OR REPLACE TEMP TABLE acc_members AS SELECT m.member_id, m.first_day, m.earned, m.first_seq, "
        "s.member_id IS NULL AS new FROM (SELECT e.member_id, arg_min(e.day, e.seq) AS first_day, "
        "sum(e.earned) AS earned, min(e.seq) AS first_seq FROM acc_events e GROUP BY e.member_id) m "
        "LEFT JOIN acc_stored s USING (member_id)"
    )
    # every input row is one of: seen (an id the ledger has: a duplicate), else rejected (an id the ledger refused),
    # else the first of its id (posted: acc_new), else a later row of its id (a duplicate). The duplicates are what
    # is left once the posted and rejected rows are counted (a semi-join of every row against acc_new's took 3.7 s
    # at 10,000,000 members)
    outcome = (
        "SELECT (SELECT count(*) FROM acc_new) AS posted, (SELECT count(*) FROM acc_src) - "
        "(SELECT count(*) FROM acc_new) - (SELECT count(*) FROM acc_src WHERE event_id IN "
        "(SELECT event_id FROM acc_rejected) AND event_id NOT IN (SELECT event_id FROM acc_seen)) AS duplicates"
    )
    return Statements(new, base, tiers, journal, events, lots, members, outcome)


def lake_events(
    c: Compiled,
    version: int | None,
    posted: bool = False,
    days: list[list] | None = None,
    service_types: list[str] | None = None,
    moment_offset: int | None = None,
) -> str:
    """``acc_events`` as the lake's rows (:data:`weixi.close.accrual_lake.ACCRUAL_SCHEMA`, unsorted): one row per
    event of ``acc_new`` with its earn entries as a list, computed row by row from the same rule arithmetic as
    :func:`statements` (no ``acc_base``, ``acc_member_tier`` or ``acc_journal``, no group-by per bill: an event's
    entries are one fixed list per rule and multiplier, those with no points left out). In posting order within
    the list: the base rules in plan order, then per tier multiplier its extras in the same order. A base rule's
    entry has no note (NULL): its rule, in the row's plan version, and the event's amount give the Book's text,
    which a fold writes (:func:`weixi.ledger.fold.fill_notes`; at 10,000,000 members the text took 3.9 s of the
    lake's files); a tier extra's keeps its note (the tier it names is not on the row).

    ``posted``: the events carry their own moment text, attrs and ``tier`` attr (see the module doc); an event's
    tier is its member's last ``tier`` attr so far, else the stored tier.
    ``days`` (:func:`day_rows` of the month's days; the close, with :func:`weixi.close.accrual_order.mark`): ``acc_new`` is sorted by
    member and carries each member's stored tier (``stored_tier``); the day's columns are looked up from a list by
    the day (the expiry as a date) and the tier's extra by a ``CASE``, so the statement reads one table and joins
    none, and DuckDB keeps its rows in ``acc_new``'s order (a ``SELECT`` of one table keeps its order; a join does
    not). ``acc_events`` is then a view. ``service_types``: the service types the rows hold (any other is written
    too, built row by row). ``moment_offset``: the session zone's offset at every moment of the rows, when fixed
    (:func:`~weixi.close.moment_text.fixed_offset`)."""
    v = "NULL" if version is None else str(int(version))
    day = _day_lookup(c, days) if days is not None else (lambda col: f"d.{col}")
    pts, extras, base = [], [], []  # the base rules' points; the multipliers' extras; the entries, in posting order
    for etype, rules in c.rules.items():
        for k, r in enumerate(rules):
            i = len(pts)
            fen = f"CAST(coalesce(n.amount_fen, 0) AS {_int_type(_rule_bounds(r)[0])})"
            cond = [f"n.type = {_lit(etype)}"]
            if r.window is not None:
                cond.append(day(f"open_{etype}_{k}"))
            if r.spend:
                points = _round(f"{fen} * {r.num}", r.den, r.mode)
                if r.service_types:
                    cond.append(f"n.service_type IN ({', '.join(_lit(s) for s in r.service_types)})")
            else:
                points = f"(({fen} * {r.num} // {r.den}) * {r.block_points})"
            pts.append(f"CASE WHEN {' AND '.join(cond)} THEN {points} END AS p{i}")
            # no note: the rule and the amount say it (the fold writes the Book's text, weixi.ledger.fold)
            base.append(_entry(f"p{i}", _lit(r.id), "NULL::VARCHAR"))
    big = _int_type(_mult_bound(c))
    rule_ids = [r.id for rules in c.rules.values() for r in rules]
    for j, m in enumerate(c.mults):
        for i, rid in enumerate(rule_ids):
            if m.applies_to is not None and not m.applies_to >= set(rule_ids) and rid not in m.applies_to:
                continue
            open_ = "" if m.window is None else f" AND open_mult_{j}"
            extra = _round(f"CAST(p{i} AS {big}) * tnum", "tden", m.mode)
            note = f"concat('tier ', tid, ': ', CAST(p{i} AS VARCHAR), ' x (', ttext, ' - 1)')"
            column = f"x{j}_{i}"
            extras.append((f"CASE WHEN p{i} > 0 AND tnum IS NOT NULL{open_} THEN {extra} END AS {column}", column))
            base.append(_entry(column, _lit(m.id), note))
    moment, attrs = _moment_attrs(posted, day("bill_at"), service_types, moment_offset)
    tier_cols, tier_join = "", ""
    if c.mults and days is not None:  # the stored tier is on the row: its extra by a CASE, no join
        tier_cols = "".join(f", {_tier_case(c, i)} AS {col}" for i, col in enumerate(("tnum", "tden", "tid", "ttext")))
    elif c.mults:
        plan_tiers, dflt = _plan_tiers(c)
        # a stored (or posted) tier the plan knows gives its own extra; none, or one it does not know, the default's
        tier_cols = "".join(
            f", CASE WHEN t.tier IS NULL THEN {dv} ELSE t.{col} END AS {col}"
            for dv, col in zip(dflt, ("tnum", "tden", "tid", "ttext"))
        )
        member_tier = (
            "(SELECT n.seq, coalesce(last_value(n.tier IGNORE NULLS) OVER (PARTITION BY n.member_id ORDER BY n.seq "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), s.tier) AS tier FROM acc_new n "
            "LEFT JOIN acc_stored s USING (member_id)) mt"
            if posted
            else "acc_stored mt"
        )
        on = "ON mt.seq = n.seq" if posted else "ON mt.member_id = n.member_id"
        tier_join = f" LEFT JOIN {member_tier} {on} LEFT JOIN {plan_tiers} ON t.tier = mt.tier"
    mults = "".join(
        f", {day(f'open_mult_{j}')} AS open_mult_{j}" for j in range(len(c.mults)) if c.mults[j].window is not None
    )
    source = "acc_new n" if days is not None else f"acc_new n JOIN acc_days d USING (day){tier_join}"
    inner = (
        f"SELECT n.event_id, n.member_id, n.type, {moment} AS occurred_at, n.day, "
        f"n.amount_fen, {attrs} AS attrs, {day('expires_text')} AS expires_text, n.seq{mults}{tier_cols}"
        + "".join(f", {p}" for p in pts)
        + f" FROM {source}"
    )
    with_extras = f"SELECT *{''.join(f', {x[0]}' for x in extras)} FROM ({inner})" if extras else inner
    cols = [f"p{i}" for i in range(len(pts))] + [column for _, column in extras]
    earned = " + ".join(f"coalesce(CASE WHEN {col} > 0 THEN {col} END, 0)" for col in cols) or "0"
    # each entry a list of one or none, flattened in order (13% quicker than a lambda filtering out NULLs)
    listed = f"flatten([{', '.join(base)}])" if base else "[]"
    # the close's (``days``): a view, computed as each member range's file is written from it in order (a table
    # filled in order took 20.8 s at 10,000,000 members, its files 26.3 s more; the view's files 32.8 s)
    return (
        f"CREATE OR REPLACE {'TEMP TABLE' if days is None else 'VIEW'} acc_events AS SELECT event_id, member_id, type, "
        "occurred_at, "
        "day, CAST(amount_fen AS BIGINT) AS amount_fen, attrs, earned, "
        f"CAST({v} AS BIGINT) AS plan_version, CAST(CASE WHEN earned > 0 THEN expires_text END AS DATE) AS expires_on, "
        f"seq, entries FROM (SELECT *, CAST({earned} AS BIGINT) AS earned, {listed} AS entries FROM ({with_extras}))"
    )


def _day_lookup(c: Compiled, days: list[list]):
    """``column -> SQL`` of a day column (:func:`day_columns`) of ``n.day`` from a list literal indexed by the days
    since the first of ``days`` (:func:`day_rows`' rows; a day between them that has none gives NULL)."""
    names = day_columns(c)
    by_day = {row[0]: row for row in days}
    first = min(by_day) if by_day else "1970-01-01"
    span = (date.fromisoformat(max(by_day)) - date.fromisoformat(first)).days + 1 if by_day else 1
    offsets = [(date.fromisoformat(first) + timedelta(days=i)).isoformat() for i in range(span)]

    def lookup(col: str) -> str:
        i = names.index(col)
        values = [by_day[d][i] if d in by_day else None for d in offsets]
        typed = "DATE " if col == "expires_text" else ""  # the expiry a date (no cast of its text per row)
        items = ", ".join(
            "NULL" if v is None else str(v).lower() if isinstance(v, bool) else typed + _lit(v) for v in values
        )
        return f"([{items}])[CAST(n.day - DATE '{first}' AS BIGINT) + 1]"

    return lookup


def _tier_case(c: Compiled, i: int) -> str:
    """The ``i``-th of a tier's extra (tnum, tden, tid, ttext) for the member's stored tier ``n.stored_tier``, as
    :func:`_plan_tiers` gives it: a tier the plan knows its own (NULL when its multiplier is 1 or below), none or
    one it does not know the default tier's."""

    def value(t) -> str:
        return "NULL" if not t else str(t[i]) if i < 2 else _lit(t[i])

    whens = "".join(f" WHEN {_lit(tid)} THEN {value(t)}" for tid, t in c.tiers.items())
    return f"CASE n.stored_tier{whens} ELSE {value(c.default)} END" if whens else value(c.default)


def _entry(points: str, rule_id: str, note: str) -> str:
    """An earn entry of the list as a list of one, empty when ``points`` is not above zero."""
    return (
        f"CASE WHEN {points} > 0 THEN [struct_pack(rule_id := {rule_id}, points := CAST({points} AS BIGINT), "
        f"note := {note})] ELSE [] END"
    )


REJECTIONS_SQL = (
    "SELECT split_part(r.reason, ':', 1) AS reason, count(*) AS n FROM acc_src s "
    "JOIN acc_rejected r USING (event_id) WHERE s.event_id NOT IN (SELECT event_id FROM acc_seen) "
    "GROUP BY 1 ORDER BY 1"
)
