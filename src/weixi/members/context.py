"""The retention context of one member for the member 360 (issue 18 §3): the churn risk of the latest scored month
with its reasons as sentences in the reader's language, the contacts made (calls, visits, messages), the
campaigns the member was in with what they drew or were given. Reads the scores file and the operations and
campaign tables for one member: a few indexed lookups, whatever the operator's size."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.duck import lit
from weixi.adapters.sql import execute

BANDS = {"high": (1, 2), "medium": (3, 5), "low": (6, 10)}  # risk deciles (weixi.members.listing.BANDS)
CONTACTS = 20


def risk(data_dir: Path, member_id: str, locale: str) -> dict | None:
    """The latest scored month's churn probability, decile, band and up to three reasons (sentences in ``locale``:
    the Chinese columns for Chinese, the English ones otherwise); None when no month is scored for the member."""
    files = sorted((Path(data_dir) / "churn" / "scores").glob("month=*/part-0.parquet"))
    if not files:
        return None
    suffix = "_zh" if locale.startswith("zh") else ""
    cols = ", ".join(f"reason_{i}{suffix} AS reason_{i}" for i in (1, 2, 3))
    with duck.reader() as con:
        row = con.execute(
            f"SELECT month, churn_probability, risk_decile, {cols} FROM read_parquet({lit(files[-1])}) "
            "WHERE member_id = ? LIMIT 1",
            [member_id],
        ).fetchone()
    if row is None:
        return None
    month, probability, decile, *reasons = row
    band = next((b for b, (lo, hi) in BANDS.items() if decile is not None and lo <= int(decile) <= hi), None)
    return {
        "month": str(month),
        "probability": float(probability) if probability is not None else None,
        "decile": int(decile) if decile is not None else None,
        "band": band,
        "reasons": [r for r in reasons if r],
    }


def contacts(engine: Engine, member_id: str, limit: int = CONTACTS) -> list[dict]:
    """Messages and calls recorded for the member (``ops_contacts``), newest first: channel, purpose, when."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT channel, purpose, campaign, at FROM ops_contacts WHERE member_id = ? ORDER BY at DESC LIMIT ?",
            [member_id, int(limit)],
        )
    return [{"channel": r[0], "purpose": r[1], "campaign": r[2], "at": r[3]} for r in rows]


def campaigns(engine: Engine, member_id: str) -> list[dict]:
    """The campaigns the member is in (audience or control group), newest window first, with their draws (prizes
    won) and gifts handed out."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT c.campaign_id, c.name, c.status, c.window_start, c.window_end, m.grp, "
            "(SELECT count(*) FROM campaign_draws d WHERE d.campaign_id = c.campaign_id AND d.member_id = m.member_id), "
            "(SELECT count(*) FROM campaign_draws d WHERE d.campaign_id = c.campaign_id AND d.member_id = m.member_id "
            " AND d.prize_id IS NOT NULL AND d.prize_id <> ''), "
            "(SELECT coalesce(sum(qty), 0) FROM campaign_claims g WHERE g.campaign_id = c.campaign_id "
            " AND g.member_id = m.member_id) "
            "FROM campaign_members m JOIN campaigns c ON c.campaign_id = m.campaign_id WHERE m.member_id = ? "
            "ORDER BY c.window_start DESC, c.campaign_id",
            [member_id],
        )
    keys = ("campaign_id", "name", "status", "from", "to", "group", "draws", "won", "gifts")
    out = []
    for r in rows:
        d = dict(zip(keys, r))
        d["from"], d["to"] = str(d["from"])[:10], str(d["to"])[:10]
        d["draws"], d["won"], d["gifts"] = int(d["draws"]), int(d["won"]), int(d["gifts"])
        out.append(d)
    return out
