"""Member 360: everything Weixi knows about one member, from the archive, the closes and the ledger."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import Engine

from weixi.adapters import archive, duck
from weixi.adapters.sql import as_date, execute
from weixi.close import store
from weixi.ledger import queries
from weixi.members import pii
from weixi.plans.service import plan_zone
from weixi.settings import DEFAULT_TIMEZONE

RECENT_MONTHS = 6
SNAPSHOT_COLUMNS = [
    "member_id",
    "month",
    "status",
    "tier",
    "tier_since",
    "grace_until",
    "star_level",
    "value_grade",
    "activity_grade",
    "rfm",
    "key_account",
    "arpu_fen",
    "points_balance",
]
HISTORY_COLUMNS = ["member_id", "month", "spend_fen", "recharge_fen", "touches", "last_active_on", "points_earned"]
EVENT_COLUMNS = ["member_id", "month", "event", "from_tier", "to_tier", "effective_on"]
_con: duckdb.DuckDBPyConnection | None = None


def _cursor() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per process (a cursor per call), with Parquet metadata cached between lookups."""
    global _con
    if _con is None:
        _con = duck.connect()
        _con.execute("SET parquet_metadata_cache = true")
    return _con.cursor()


def _rows(con, sql: str, params: list) -> list[dict]:
    result = con.execute(sql, params)
    names = [d[0] for d in result.description]
    table = result.to_arrow_table() if hasattr(result, "to_arrow_table") else None
    return table.to_pylist() if table is not None else [dict(zip(names, r)) for r in result.fetchall()]


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


def member_360(
    engine: Engine | None, data_dir: Path, member_id: str, today: date | None = None, reveal: bool = False
) -> dict | None:
    profile = archive.members_lookup(data_dir, member_id)
    points = None
    zone = plan_zone(engine) if engine is not None else ZoneInfo(DEFAULT_TIMEZONE)  # times are shown in it
    if engine is not None:
        points = queries.balance(engine, member_id, today or datetime.now(zone).date())
    if profile is None and points is None:
        return None
    con = _cursor()
    con.execute(f"SET TimeZone = '{zone.key}'")
    try:
        for dataset in ("snapshots", "history", "tier_events"):
            store.learn_ranges(data_dir, dataset)  # the files' member ranges: each month's one holding the member
        snaps = store.files(data_dir, "snapshots")  # finished months only, never a close's write in progress
        recent = store.months(data_dir, "history")[-RECENT_MONTHS:]
        history = [Path(f) for m in recent for f in store.uris(data_dir, "history", m)]
        events = store.files(data_dir, "tier_events")
        tiers = [r for p in snaps for r in store.member_rows(p, member_id, SNAPSHOT_COLUMNS)]
        activity = [r for p in reversed(history) for r in store.member_rows(p, member_id, HISTORY_COLUMNS)]
        tier_events = [
            r for p in events for r in store.member_rows(p, member_id, EVENT_COLUMNS) if r["event"] is not None
        ]
        for rows in (tiers, activity, tier_events):
            for r in rows:
                del r["member_id"]
        complaints = []
        if archive.part_files(data_dir, "complaints") or archive.load_files(data_dir, "complaints"):
            complaints = _rows(
                con,
                f"SELECT complaint_id, opened_at, category, channel, resolved, resolved_at, satisfaction "
                f"FROM ({archive.scan_sql(data_dir, 'complaints', member_id=member_id)}) WHERE member_id = ? "
                f"ORDER BY opened_at DESC",
                [member_id],
            )
    finally:
        con.close()
    latest = tiers[-1] if tiers else {}
    out = {
        "member_id": member_id,
        "profile": pii.mask_row(profile, reveal) if profile else None,
        "tier": {
            "current": latest.get("tier"),
            "since": latest.get("tier_since"),
            "grace_until": latest.get("grace_until"),
            "history": [{k: r[k] for k in ("month", "tier", "status")} for r in tiers],
            "events": tier_events,
        },
        "segments": {
            k: latest.get(k) for k in ("star_level", "value_grade", "activity_grade", "rfm", "key_account", "arpu_fen")
        }
        if latest
        else None,
        "points": points,
        "recent_activity": activity,
        "complaints": complaints,
        "contract": {k: profile.get(k) for k in ("contract_start", "contract_end", "subsidy_end")} if profile else None,
        "manager_id": profile.get("manager_id") if profile else None,
    }
    return out


def history_details(engine: Engine, member_id: str) -> dict[str, dict]:
    """What the member's journal entries point at, for a page that shows them to a person rather than by id:
    ``{"events": {event_id: {"day", "ref", "reason", "qty"}}, "lots": {lot_id: {"earned_on", "expires_on"}}}``.
    An event's ``ref`` is the reward of a redemption (the original event of a refund); ``reason`` is what an
    adjustment gave as its cause; ``note`` what a campaign's lottery wrote (:func:`ledger_note`), with the
    campaign's name. Three queries for the member, whatever the length of the history."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        events = execute(
            conn,
            "SELECT e.event_id, e.day, e.ref, e.attrs FROM events e "
            "WHERE e.event_id IN (SELECT event_id FROM journal WHERE member_id = ?)",
            [member_id],
        )
        lots = execute(conn, "SELECT lot_id, earned_on, expires_on FROM lots WHERE member_id = ?", [member_id])
        said = {event_id: _attrs(attrs) for event_id, _, _, attrs in events}
        noted = {event_id: n for event_id, a in said.items() if (n := ledger_note(a)) is not None}
        wanted = sorted({n["campaign_id"] for n in noted.values()})
        titles = {}
        if wanted:  # the campaigns' names, not their ids
            marks = ", ".join("?" for _ in wanted)
            titles = dict(
                execute(conn, f"SELECT campaign_id, name FROM campaigns WHERE campaign_id IN ({marks})", wanted)
            )
    out: dict[str, dict] = {"events": {}, "lots": {}}
    for event_id, day, ref, _ in events:
        attrs, note = said[event_id], noted.get(event_id)
        out["events"][event_id] = {
            "day": str(as_date(day)),
            "ref": ref,
            "reason": str(attrs["reason"]) if attrs.get("reason") and note is None else None,
            "qty": attrs.get("qty"),
            "note": {**note, "campaign": titles.get(note["campaign_id"], note["campaign_id"])} if note else None,
        }
    for lot_id, earned_on, expires_on in lots:
        out["lots"][lot_id] = {
            "earned_on": str(as_date(earned_on)),
            "expires_on": str(as_date(expires_on)) if expires_on is not None else None,
        }
    return out


def _attrs(text) -> dict:
    said = (json.loads(text) if isinstance(text, str) else text) if text else {}
    return said if isinstance(said, dict) else {}


# Notes campaigns wrote as English sentences (behind "campaign <id>: " in the ledger's reason) before they wrote codes:
# the lottery's (lottery_service) and the leaderboard's, streaks' and referrals' awards (campaigns/closing.py,
# campaigns/referral_service.py), each read as its code and parameters.
_SENTENCES = (
    ("lottery_prize", re.compile(r"draw (?P<seq>\d+): (?P<prize>.+)", re.S)),
    ("lottery_chances", re.compile(r"(?P<chances>\d+) lottery chance\(s\) at \d+ points")),
    ("campaign_leaderboard", re.compile(r"leaderboard rank (?P<rank>\d+) \((?P<points>\d+) points earned\)")),
    ("campaign_streak", re.compile(r"(?P<days>\d+)-day check-in streak \(longest (?P<longest>\d+)\)")),
    ("campaign_referral", re.compile(r"referral of \S+ \((?P<role>referrer|referee)\)")),
)
# The parameters a page says of each closing or referral award's code (campaigns/closing.py, referral_service.py);
# the others they store (the referee's id) are for the record, not for the page.
_PARAMS = {
    "campaign_leaderboard": ("rank", "points"),
    "campaign_streak": ("days", "longest"),
    "campaign_referral": ("role",),
}
_CAMPAIGN = re.compile(r"campaign (?P<campaign>\S+): (?P<note>.+)", re.S)


def ledger_note(attrs: dict) -> dict | None:
    """What a campaign wrote on a ledger event (its ``attrs``), as a code and parameters for a page to say in its
    language: ``{"code": "lottery_prize", "campaign_id", "seq", "prize"}`` (the prize's name),
    ``{"code": "lottery_chances", "campaign_id", "chances"}``, ``campaign_leaderboard`` (``rank``, ``points``),
    ``campaign_streak`` (``days``, ``longest``) or ``campaign_referral`` (``role``: referrer or referee); None for
    any other event (a person's reason is shown as written). Reads the codes :mod:`weixi.campaigns.lottery_service`,
    :mod:`weixi.campaigns.closing` and :mod:`weixi.campaigns.referral_service` write (JSON behind "campaign <id>: ")
    and the English sentences campaigns wrote before."""
    reason = attrs.get("reason")
    if attrs.get("note") == "lottery_chances" and attrs.get("campaign"):
        return {"code": "lottery_chances", "campaign_id": str(attrs["campaign"]), "chances": attrs.get("chances")}
    found = _CAMPAIGN.fullmatch(reason) if isinstance(reason, str) else None
    if found is None:
        return None
    campaign, note = found["campaign"], found["note"]
    if note.startswith("{"):
        try:
            said = json.loads(note)
        except ValueError:
            said = None
        if not isinstance(said, dict):
            return None
        if said.get("note") == "lottery_prize":
            prize = said.get("prize_name") or said.get("prize")
            return {"code": "lottery_prize", "campaign_id": campaign, "seq": said.get("seq"), "prize": prize}
        wanted = _PARAMS.get(said.get("note"))
        if wanted is None or any(said.get(k) is None for k in wanted):
            return None
        return {"code": said["note"], "campaign_id": campaign, **{k: said[k] for k in wanted}}
    for code, sentence in _SENTENCES:
        said = sentence.fullmatch(note)
        if said:
            params = {k: int(v) if v.isdigit() and k != "prize" else v for k, v in said.groupdict().items()}
            return {"code": code, "campaign_id": campaign, **params}
    return None
