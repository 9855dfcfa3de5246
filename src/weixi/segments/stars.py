"""星级 1-7 from a table of ARPU rows x tenure columns."""

from __future__ import annotations

import ibis

from weixi.adapters.duck import scan_files
from weixi.plans.model import StarLevels
from weixi.segments import months


def tenure_years(join_date: ibis.Value, month: str) -> ibis.Value:
    """Full years from ``join_date`` to the month end (an anniversary on the month end counts)."""
    end = months.end(month)
    not_yet = (join_date.month() * 100 + join_date.day()) > (end.month * 100 + end.day)
    return (ibis.literal(end.year) - join_date.year() - not_yet.cast("int32")).cast("int32")


def months_in_service(join_date: ibis.Value, month: str, n: int) -> ibis.Value:
    """Months of the ``n`` ending with ``month`` in which the member was in service (at least 1)."""
    since_join = months.index(month) - (join_date.year() * 12 + join_date.month() - 1) + 1
    return ibis.least(since_join, n).cast("int64")


def star_columns(
    spend: ibis.Value, join_date: ibis.Value, tenure: ibis.Value, config: StarLevels, month: str
) -> dict[str, ibis.Value]:
    """``arpu_fen`` (average monthly spend over the months in service of the ARPU window, floored) and
    ``star_level``. The row is the last whose bound the ARPU reaches, compared exactly as
    ``spend >= bound x months``; below the first row (negative net spend) counts as the first row."""
    divisor = months_in_service(join_date, month, config.arpu_months)
    first, *higher = config.rows
    lowest = _by_tenure(tenure, first.stars, config.tenure_years)
    by_row = [
        (spend >= row.arpu_fen * divisor, _by_tenure(tenure, row.stars, config.tenure_years))
        for row in reversed(higher)
    ]
    star = ibis.cases(*by_row, else_=lowest) if by_row else lowest
    return {"arpu_fen": (spend // divisor).cast("int64"), "star_level": star.cast("int8")}


def _by_tenure(tenure: ibis.Value, stars: tuple[int, ...], columns: tuple[int, ...]) -> ibis.Value:
    """The star of the last tenure column reached; the first column below it."""
    branches = [(tenure >= years, star) for years, star in reversed(list(zip(columns, stars))[1:])]
    return ibis.cases(*branches, else_=stars[0]) if branches else ibis.literal(stars[0])


STAR_EVENT_TYPES = {
    "member_id": "VARCHAR",
    "month": "VARCHAR",
    "event": "VARCHAR",  # upgraded | downgraded
    "from_star": "TINYINT",
    "to_star": "TINYINT",
    "effective_on": "DATE",  # the close's month end
}


def star_events_sql(month: str, current, previous) -> str:
    """The month's star-level events (DuckDB SQL over two months' snapshot files: a file or a list each; no
    previous month when ``previous`` is None or empty): a member in service at both month
    ends whose star level rose is ``upgraded`` (a newly promoted star member, 新晋级星级客户), one whose level
    fell ``downgraded``; effective on the month end. A member new this month, or the first close (no previous
    snapshot), raises no event: there is no level to be promoted from."""
    cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in STAR_EVENT_TYPES.items())
    if not previous:
        return f"SELECT {cols} WHERE FALSE"
    end = months.end(month).isoformat()
    return f"""SELECT CAST(c.member_id AS VARCHAR) AS member_id, CAST('{month}' AS VARCHAR) AS month,
        CAST(CASE WHEN c.star_level > p.star_level THEN 'upgraded' ELSE 'downgraded' END AS VARCHAR) AS event,
        CAST(p.star_level AS TINYINT) AS from_star, CAST(c.star_level AS TINYINT) AS to_star,
        DATE '{end}' AS effective_on
    FROM {scan_files(current)} c JOIN {scan_files(previous)} p ON p.member_id = c.member_id
    WHERE c.status = 'active' AND p.status = 'active' AND c.star_level IS NOT NULL AND p.star_level IS NOT NULL
      AND c.star_level <> p.star_level
    ORDER BY c.member_id"""
