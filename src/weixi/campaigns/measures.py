"""The campaign's figures, each one SQL aggregate over the ledger (events, journal) and the campaign tables,
restricted to the window and to the audience's treatment or control group; no Python loop over members.
Shared by the report (:mod:`weixi.campaigns.report`), the closing awards and the follow-ups."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from weixi.adapters import duck
from weixi.adapters.kept import Kept
from weixi.adapters.sql import as_date, execute, is_pg
from weixi.campaigns import stats
from weixi.campaigns.errors import CampaignRefused
from weixi.campaigns.model import RATE_METRICS, Campaign
from weixi.ledger import fold

TREATMENT = "JOIN campaign_members cm ON cm.member_id = {a}.member_id AND cm.campaign_id = ? AND cm.grp = 'treatment'"


def in_treatment(alias: str) -> str:
    return TREATMENT.format(a=alias)


def window(c: Campaign) -> list:
    return [c.window.start, c.window.end]


def scalar(conn: Connection, sql: str, params: list) -> int:
    return int(execute(conn, sql, params)[0][0] or 0)


def _participant_parts(c: Campaign, checkins: str | None = None, earners: str | None = None) -> tuple[list, list]:
    """The SELECTs whose UNION is the campaign's participants, with their params: its draws, chances, claims and
    referrals, its treatment group's check-ins when it has streaks and the earners of its rules when it has
    points rules. ``checkins``/``earners``: the SELECTs of those two from the figures' window tables (``earners``
    with a ``{rules}`` slot for the rule ids), else they read the events and the journal."""
    parts = [
        "SELECT member_id FROM campaign_draws WHERE campaign_id = ?",
        "SELECT member_id FROM campaign_chances WHERE campaign_id = ?",
        "SELECT member_id FROM campaign_claims WHERE campaign_id = ?",
        "SELECT referrer_id FROM campaign_referrals WHERE campaign_id = ?",
        "SELECT referee_id FROM campaign_referrals WHERE campaign_id = ?",
    ]
    params: list = [c.id] * 5
    if c.streaks and checkins:
        parts.append(checkins)
    elif c.streaks:
        parts.append(
            f"SELECT e.member_id FROM events e {in_treatment('e')} WHERE e.type = 'checkin' "
            f"AND e.day >= ? AND e.day <= ?"
        )
        params += [c.id, *window(c)]
    if c.points_rules:
        rules = ",".join("?" * len(c.points_rules))
        if earners:
            parts.append(earners.format(rules=rules))
        else:
            parts.append(
                f"SELECT j.member_id FROM journal j {in_treatment('j')} WHERE j.kind = 'earn' AND j.day >= ? "
                f"AND j.day <= ? AND j.rule_id IN ({rules})"
            )
            params += [c.id, *window(c)]
        params += list(c.points_rules)
    return parts, params


def participants_sql(c: Campaign) -> tuple[str, list]:
    parts, params = _participant_parts(c)
    return " UNION ".join(parts), params


def participant_ids(conn: Connection, c: Campaign) -> list[str]:
    """The campaign's participants (:func:`participants_sql`), sorted; with lake months the treatment members whose
    earn entries of its points rules in the window are in the lake, not yet folded into the journal, too."""
    sql, params = participants_sql(c)
    if not (c.points_rules and fold.watermark(conn)[0]):
        return sorted(r[0] for r in execute(conn, sql, params))
    start, end = window(c)
    found = _arrow(conn, f"SELECT p.member_id FROM ({sql}) p", params)
    treatment = audience(conn, c)  # its treatment group joined below
    with duck.reader() as con:
        duck.register(con, "participants_sql", found)
        duck.register(con, "participants_treatment", treatment)
        lake = (
            " UNION SELECT l.member_id FROM lake_earned l JOIN participants_treatment t ON t.member_id = l.member_id "
            "AND t.grp = 'treatment' "
            f"WHERE list_contains(?, l.rule_id) AND l.day >= DATE '{start}' AND l.day <= DATE '{end}'"
            if fold.unfolded_views(conn.engine, con)
            else ""
        )
        rows = con.execute(
            f"SELECT member_id FROM participants_sql{lake} ORDER BY 1", [list(c.points_rules)] if lake else []
        ).fetchall()
    return [r[0] for r in rows]


# One statement, one pass over the window's events and one over the window's journal (each kept as a table, ``w``
# and ``jw``), every figure of the report an aggregate over them; rows are tagged by what they hold:
#   group: grp, -, members, bill fen, its squares (or active members for the activity outcome), active, repurchasers
#   day: grp, day, -, bill fen            survey: attrs            points: -, -, rule points, redeemed points
#   participants: -, -, members
FIGURES = """WITH w AS MATERIALIZED (
  SELECT e.member_id, cm.grp, e.type, e.day, e.amount_fen, CASE WHEN e.type = 'survey' THEN e.attrs END AS attrs
  FROM events e JOIN campaign_members cm ON cm.member_id = e.member_id AND cm.campaign_id = ?
  WHERE e.day >= ? AND e.day <= ?
), jw AS MATERIALIZED (
  SELECT j.member_id, j.kind, j.points, j.rule_id, cm.grp FROM journal j
  LEFT JOIN campaign_members cm ON cm.member_id = j.member_id AND cm.campaign_id = ?
  WHERE j.day >= ? AND j.day <= ? AND {journal_kinds}
), per AS (
  SELECT member_id, grp, sum(CASE WHEN type = 'bill' THEN amount_fen END) AS fen,
    sum(CASE WHEN type = 'bill' THEN 1 ELSE 0 END) AS bills, max(CASE WHEN type <> 'adjust' THEN 1 ELSE 0 END) AS active
  FROM w GROUP BY member_id, grp
)
SELECT 'group', g.grp, NULL, g.n, coalesce(p.fen, 0), coalesce(p.squares, 0), coalesce(p.active, 0),
  coalesce(p.repurchasers, 0)
  FROM (SELECT grp, count(*) AS n FROM campaign_members WHERE campaign_id = ? GROUP BY grp) g
  LEFT JOIN (SELECT grp, sum(fen) AS fen, sum({square}) AS squares, sum(active) AS active,
    sum(CASE WHEN bills >= 2 THEN 1 ELSE 0 END) AS repurchasers FROM per GROUP BY grp) p ON p.grp = g.grp
UNION ALL SELECT 'day', grp, day, NULL, coalesce(sum(amount_fen), 0), NULL, NULL, NULL FROM w WHERE type = 'bill'
  GROUP BY day, grp
UNION ALL SELECT 'survey', attrs, NULL, NULL, NULL, NULL, NULL, NULL FROM w WHERE type = 'survey' AND grp = 'treatment'
UNION ALL SELECT 'points', NULL, NULL, {issued}, coalesce(sum(CASE WHEN kind = 'redeem' AND grp = 'treatment'
  THEN points END), 0), NULL, NULL, NULL FROM jw
UNION ALL SELECT 'participants', NULL, NULL, count(*), NULL, NULL, NULL, NULL FROM ({participants}) x"""


def _figures(conn: Connection, c: Campaign) -> dict:
    """The figures of :data:`FIGURES` for ``c``: the group stats of its outcome, sales, active members,
    repurchasers, bills per day and group, survey scores, rule and redeemed points, participants. With lake months
    the same statement runs in DuckDB over the ledger's rows and the lake's unfolded ones (:func:`_lake_rows`)."""
    lake = bool(fold.watermark(conn)[0])
    if c.outcome == "spend":
        fen = "coalesce(fen, 0)"
        square = (
            f"CAST({fen} AS HUGEINT) * {fen}"
            if lake
            else f"CAST({fen} AS NUMERIC) * {fen}"
            if is_pg(conn)
            else f"{fen} * {fen}"
        )
    else:
        square = "active"
    parts, pparams = _participant_parts(
        c,
        checkins="SELECT member_id FROM w WHERE grp = 'treatment' AND type = 'checkin'",
        earners="SELECT member_id FROM jw WHERE grp = 'treatment' AND kind = 'earn' AND rule_id IN ({rules})",
    )
    rules = ",".join("?" * len(c.points_rules))
    issued = f"coalesce(sum(CASE WHEN kind = 'earn' AND rule_id IN ({rules}) THEN points END), 0)" if rules else "0"
    # the journal's lines the figures read: the redemptions, and the earnings of the campaign's own rules
    kinds = f"(j.kind = 'redeem' OR (j.kind = 'earn' AND j.rule_id IN ({rules})))" if rules else "j.kind = 'redeem'"
    sql = FIGURES.format(square=square, issued=issued, participants=" UNION ".join(parts), journal_kinds=kinds)
    params = [c.id, *window(c), c.id, *window(c), *c.points_rules, c.id, *c.points_rules, *pparams]
    try:
        rows = _lake_rows(conn, c, kinds, sql, params) if lake else execute(conn, sql, params)
    except DBAPIError:  # SQLite's integer sum overflowed (more than 9.2e18 fen squared): not exact any more
        raise CampaignRefused("campaign_squares_overflow") from None
    out: dict = {
        "groups": {"treatment": stats.Group(0, 0, 0), "control": stats.Group(0, 0, 0)},
        "daily": [],
        "surveys": [],
        "active": 0,
        "repurchasers": 0,
        "sales_fen": 0,
    }
    for tag, key, day, n, fen_sum, squares, active, repurchasers in rows:
        if tag == "group":
            total = int(fen_sum) if c.outcome == "spend" else int(active)
            out["groups"][key] = stats.Group(int(n), total, int(Decimal(str(squares))))
            if key == "treatment":
                out.update(sales_fen=int(fen_sum), active=int(active), repurchasers=int(repurchasers))
        elif tag == "day":
            out["daily"].append((day, key, int(fen_sum)))
        elif tag == "survey":
            out["surveys"].append(key)
        elif tag == "points":
            out.update(issued_rules=int(n), redeemed=-int(fen_sum))
        else:
            out["participants"] = int(n)
    return out


# What :data:`FIGURES` reads of the SQL store when it runs in DuckDB: the campaign's own rows, its audience's events of
# the window and the window's journal lines it reads (name, query, columns; a date column is read as a date)
LAKE_INPUTS = (
    ("campaign_members", "SELECT campaign_id, member_id, grp FROM campaign_members WHERE campaign_id = ?", "c"),
    ("campaign_draws", "SELECT campaign_id, member_id FROM campaign_draws WHERE campaign_id = ?", "c"),
    ("campaign_chances", "SELECT campaign_id, member_id FROM campaign_chances WHERE campaign_id = ?", "c"),
    ("campaign_claims", "SELECT campaign_id, member_id FROM campaign_claims WHERE campaign_id = ?", "c"),
    (
        "campaign_referrals",
        "SELECT campaign_id, referrer_id, referee_id FROM campaign_referrals WHERE campaign_id = ?",
        "c",
    ),
    (
        "sql_events",
        "SELECT e.member_id, e.type, e.day, e.amount_fen, e.attrs FROM events e JOIN campaign_members cm "
        "ON cm.member_id = e.member_id AND cm.campaign_id = ? WHERE e.day >= ? AND e.day <= ?",
        "cw",
    ),
    (
        "sql_journal",
        "SELECT j.member_id, j.kind, j.points, j.rule_id, j.day FROM journal j WHERE j.day >= ? AND j.day <= ? "
        "AND {kinds}",
        "wr",
    ),
)
COLUMN_TYPES = {"day": pa.date32(), "amount_fen": pa.int64(), "points": pa.int64()}


def _arrow(conn: Connection, sql: str, params: list) -> pa.Table:
    """The query's rows as Arrow columns named as selected (``x.col`` -> ``col``; dates as dates)."""
    result = conn.exec_driver_sql(sql.replace("?", "%s") if is_pg(conn) else sql, tuple(params))
    names = list(result.keys())
    cols = list(zip(*result.fetchall())) or [()] * len(names)
    arrays = []
    for name, col in zip(names, cols):
        kind = COLUMN_TYPES.get(name, pa.string())
        arrays.append(pa.array([as_date(v) for v in col] if name == "day" else list(col), kind))
    return pa.table(dict(zip(names, arrays)))


AUDIENCES = Kept(4)  # campaigns whose audience a process keeps (a 1,000,000-member audience: about 50 MB)


def audience(conn: Connection, c: Campaign) -> pa.Table:
    """``campaign_members`` of a campaign (campaign_id, member_id, grp) as Arrow. The audience is fixed when the
    campaign starts and never changes after, so a started campaign's is read once per process (the live page asks
    every 5 s; 19,928 members took 30-100 ms to read through SQLAlchemy), keyed by the database, the campaign, its
    random secret and its start step's moment: another database or a campaign made anew is another key."""
    found = execute(
        conn,
        "SELECT c.secret_hex, (SELECT max(s.at) FROM campaign_steps s WHERE s.campaign_id = c.campaign_id "
        "AND s.action = 'start') FROM campaigns c WHERE c.campaign_id = ?",
        [c.id],
    )
    key = (conn.engine.url.render_as_string(), c.id, *(map(str, found[0]) if found else ("", "None")))
    started = bool(found) and found[0][1] is not None

    def read() -> pa.Table:
        return _arrow(conn, LAKE_INPUTS[0][1], [c.id])

    return AUDIENCES.get(key, read) if started else read()


def _lake_rows(conn: Connection, c: Campaign, kinds: str, sql: str, params: list) -> list:
    """:data:`FIGURES`' rows with the lake's unfolded accruals (bills and recharges as ``events``, their earn entries
    as ``journal`` lines) added to the ledger's: the statement runs in DuckDB over the SQL rows it reads
    (:data:`LAKE_INPUTS`) and the lake's views (:func:`weixi.ledger.fold.unfolded_views`)."""
    start, end = window(c)
    args = {"c": [c.id], "cw": [c.id, start, end], "wr": [start, end, *c.points_rules]}
    with duck.reader() as con:
        duck.register(con, "campaign_members", audience(conn, c))
        for name, query, which in LAKE_INPUTS[1:]:
            duck.register(con, name, _arrow(conn, query.format(kinds=kinds), args[which]))
        days = f"day >= DATE '{start}' AND day <= DATE '{end}'"
        if fold.unfolded_views(conn.engine, con):
            # the window's lake rows read once into a table: the statement reads events and journal several
            # times, and each read of a view over the lake's files bound every file again (0.2 s of planning a
            # report at 20,000 members and 12 months, against 0.01 s of execution); of their earn entries only the
            # campaign's own rules' are read (the journal lines the figures count)
            con.execute(
                "CREATE TEMP TABLE lake_window AS SELECT member_id, type, day, amount_fen, attrs, entries "
                f"FROM lake_unfolded WHERE {days}"
            )
            rules = ", ".join(duck.lit(r) for r in c.points_rules) or "NULL"
            con.execute(
                "CREATE TEMP TABLE lake_window_earned AS SELECT member_id, 'earn' AS kind, e.points, e.rule_id, day "
                f"FROM (SELECT member_id, day, list_filter(entries, x -> x.rule_id IN ({rules})) AS own "
                "FROM lake_window) w, unnest(w.own) AS u(e)"
            )
            lake_events = " UNION ALL SELECT member_id, type, day, amount_fen, attrs FROM lake_window"
            lake_earned = " UNION ALL SELECT * FROM lake_window_earned"
        else:
            lake_events = lake_earned = ""
        con.execute(f"CREATE TEMP VIEW events AS SELECT * FROM sql_events{lake_events}")
        con.execute(f"CREATE TEMP VIEW journal AS SELECT * FROM sql_journal{lake_earned}")
        rows = con.execute(sql, params).fetchall()
    if not is_pg(conn):  # the days as SQLite gives them
        rows = [(r[0], r[1], r[2].isoformat() if r[0] == "day" else r[2], *r[3:]) for r in rows]
    return rows


def lake_board_totals(conn: Connection, c: Campaign, limit: int | None) -> list[tuple[str, int]] | None:
    """The leaderboard's totals (:func:`weixi.campaigns.closing._board_totals`) with lake months: points earned in
    the window by treatment members in the journal and in the lake's unfolded earn entries, highest first; with
    ``limit``, every member tied with the limit-th one too. None without lake months (the SQL query answers)."""
    if not fold.watermark(conn)[0]:
        return None
    start, end = window(c)
    sql_sums = _arrow(
        conn,
        f"SELECT j.member_id, sum(j.points) AS points FROM journal j {in_treatment('j')} WHERE j.kind = 'earn' "
        f"AND j.day >= ? AND j.day <= ? GROUP BY j.member_id",
        [c.id, start, end],
    )
    treatment = audience(conn, c)  # its treatment group joined below
    with duck.reader() as con:
        duck.register(con, "board_sql", sql_sums)
        duck.register(con, "board_treatment", treatment)
        lake = (
            " UNION ALL SELECT l.member_id, l.points FROM lake_earned l JOIN board_treatment t "
            "ON t.member_id = l.member_id AND t.grp = 'treatment' "
            f"WHERE l.day >= DATE '{start}' AND l.day <= DATE '{end}'"
            if fold.unfolded_views(conn.engine, con)
            else ""
        )
        top = "" if limit is None else "QUALIFY points >= min(points) FILTER (WHERE rank <= ?) OVER ()"
        rows = con.execute(
            f"SELECT member_id, points FROM (SELECT member_id, CAST(sum(points) AS BIGINT) AS points, "
            f"row_number() OVER (ORDER BY sum(points) DESC, member_id) AS rank FROM (SELECT * FROM board_sql{lake}) "
            f"GROUP BY member_id) {top} ORDER BY points DESC, member_id",
            [] if limit is None else [limit],
        ).fetchall()
    return [(m, int(p)) for m, p in rows]


def _satisfaction(surveys: list) -> Decimal | None:
    """The average ``score`` of the survey events' attributes (unreadable ones left out), to the cent."""
    scores = []
    for attrs in surveys:
        try:
            score = json.loads(attrs or "{}").get("score")
            if score is not None:
                scores.append(Decimal(str(score)))
        except (ValueError, ArithmeticError, AttributeError):
            continue
    return (sum(scores) / len(scores)).quantize(Decimal("0.01")) if scores else None


def measures(conn: Connection, c: Campaign) -> dict:
    """Every figure of the campaign: :func:`_figures`' one pass over the ledger, and the campaign's own tables
    (awards, chances, referrals) and the sign-ups of its window."""
    f = _figures(conn, c)
    awards = dict(
        (k, int(v))
        for k, v in execute(
            conn,
            "SELECT kind, coalesce(sum(points), 0) FROM campaign_awards WHERE campaign_id = ? AND status = 'posted' "
            "GROUP BY kind",
            [c.id],
        )
    )
    chance_points = scalar(conn, "SELECT coalesce(sum(points), 0) FROM campaign_chances WHERE campaign_id = ?", [c.id])
    return {
        "groups": f["groups"],
        "daily": f["daily"],
        "participants": f["participants"],
        "sales_fen": f["sales_fen"],
        "active": f["active"],
        "repurchasers": f["repurchasers"],
        "new_members": scalar(
            conn, "SELECT count(*) FROM members WHERE signed_up_on >= ? AND signed_up_on <= ?", window(c)
        ),
        "referrals": scalar(
            conn, "SELECT count(*) FROM campaign_referrals WHERE campaign_id = ? AND status = 'rewarded'", [c.id]
        ),
        "treatment": f["groups"]["treatment"].n,
        "points_by_source": {"rules": f["issued_rules"], **awards},
        "points_issued": f["issued_rules"] + sum(awards.values()),
        "points_redeemed": f["redeemed"] + chance_points,
        "chance_points": chance_points,
        "satisfaction": _satisfaction(f["surveys"]),
    }


def actual(metric: str, m: dict) -> Decimal | None:
    n = m["treatment"]
    return {
        "participants": Decimal(m["participants"]),
        "sales_yuan": Decimal(m["sales_fen"]) / 100,
        "satisfaction": m["satisfaction"],
        "activity_rate": (Decimal(m["active"]) / n).quantize(Decimal("0.0001")) if n else Decimal(0),
        "referrals": Decimal(m["referrals"]),
        "repurchase_rate": (Decimal(m["repurchasers"]) / n).quantize(Decimal("0.0001")) if n else Decimal(0),
        "new_members": Decimal(m["new_members"]),
        "points_issued": Decimal(m["points_issued"]),
        "points_redeemed": Decimal(m["points_redeemed"]),
    }[metric]


def costs(conn: Connection, c: Campaign) -> dict[str, int]:
    costs = {
        k: int(v)
        for k, v in execute(
            conn,
            "SELECT line, coalesce(sum(amount_fen), 0) FROM campaign_costs WHERE campaign_id = ? GROUP BY line",
            [c.id],
        )
    }
    if c.lottery is not None:
        by_prize = dict(
            execute(
                conn,
                "SELECT prize_id, count(*) FROM campaign_draws WHERE campaign_id = ? AND "
                "prize_id IS NOT NULL GROUP BY prize_id",
                [c.id],
            )
        )
        value = sum(p.value_fen * int(by_prize.get(p.id, 0)) for p in c.lottery.prizes)
        costs[c.lottery.budget_line] = costs.get(c.lottery.budget_line, 0) + value
    if c.gifts:
        claimed = dict(
            execute(
                conn,
                "SELECT gift_id, coalesce(sum(qty), 0) FROM campaign_claims WHERE campaign_id = ? GROUP BY gift_id",
                [c.id],
            )
        )
        costs["gifts"] = costs.get("gifts", 0) + sum(g.value_fen * int(claimed.get(g.id, 0)) for g in c.gifts)
    return costs


def plain(value: Decimal, metric: str) -> str:
    """A measure as people write it: 10830, 4.5, 0.6250 (rates keep four places), never 1.083E+4."""
    return str(value) if metric in RATE_METRICS else format(value.normalize(), "f")


def yuan(fen) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def dec(value: Decimal | None, places: str = "0.0001") -> str | None:
    return None if value is None else str(value.quantize(Decimal(places)))
