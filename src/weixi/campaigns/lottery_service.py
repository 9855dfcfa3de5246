"""The campaign's lottery, the use cases: a member's chances (earned by the campaign's rules, bought with points),
buying chances, the draw and its record, the prize stock. The draw itself is pure (:mod:`weixi.campaigns.lottery`);
stock is never oversold: SQLite ``BEGIN IMMEDIATE`` or a PostgreSQL row lock on the campaign serialises draws."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import as_date, execute, is_pg
from weixi.campaigns import lottery as lot
from weixi.campaigns.awards import post_pending_awards
from weixi.campaigns.errors import CampaignInvalid, CampaignNotFound, CampaignRefused, CampaignUnavailable
from weixi.campaigns.model import Campaign
from weixi.campaigns.participation import request_key, require_running, require_treatment, same_request
from weixi.campaigns.store import campaign_today, iso_text, load, now_utc
from weixi.ledger.events import Event, Rejection
from weixi.ledger.fold import ensure_folded, fold
from weixi.ledger.posting import post_events, with_retries
from weixi.plans.service import NoActivePlan

# --- lottery chances and draws -------------------------------------------------------------------


@dataclass(frozen=True)
class Chances:
    granted: int
    from_spend: int
    bought: int
    used: int
    spend_fen: int

    @property
    def held(self) -> int:
        return self.granted + self.from_spend + self.bought

    @property
    def left(self) -> int:
        return self.held - self.used

    def explain(self) -> str:
        parts = []
        if self.granted:
            parts.append(f"{self.granted} granted")
        if self.from_spend or self.spend_fen:
            parts.append(f"{self.from_spend} from {Decimal(self.spend_fen) / 100} yuan spent")
        if self.bought:
            parts.append(f"{self.bought} bought with points")
        return f"holds {self.held} ({', '.join(parts) or 'none'}), used {self.used}"


def _chances(conn: Connection, c: Campaign, member_id: str) -> Chances:
    lottery = c.lottery
    spend_fen, from_spend = 0, 0
    if lottery.per_yuan is not None:
        spend_fen = int(
            execute(
                conn,
                "SELECT coalesce(sum(amount_fen), 0) FROM events WHERE member_id = ? "
                "AND type = 'bill' AND day >= ? AND day <= ?",
                [member_id, c.window.start, c.window.end],
            )[0][0]
        )
        from_spend = spend_fen // int(lottery.per_yuan * 100)
    bought = int(
        execute(
            conn,
            "SELECT coalesce(sum(chances), 0) FROM campaign_chances WHERE campaign_id = ? AND member_id = ?",
            [c.id, member_id],
        )[0][0]
    )
    used = int(
        execute(conn, "SELECT count(*) FROM campaign_draws WHERE campaign_id = ? AND member_id = ?", [c.id, member_id])[
            0
        ][0]
    )
    return Chances(lottery.grant, from_spend, bought, used, spend_fen)


def chances(engine: Engine, campaign_id: str, member_id: str) -> dict:
    ensure_folded(engine, [member_id])  # the member's bills of lake months into the ledger first (spend chances)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        if c.lottery is None:
            raise CampaignNotFound("campaign_no_lottery", campaign=campaign_id)
        got = _chances(conn, c, member_id)
    return {
        "campaign_id": campaign_id,
        "member_id": member_id,
        "held": got.held,
        "used": got.used,
        "left": got.left,
        "granted": got.granted,
        "from_spend": got.from_spend,
        "bought": got.bought,
        "spend_yuan": str(Decimal(got.spend_fen) / 100),
        "explain": got.explain(),
    }


def buy_chances(
    engine: Engine,
    campaign_id: str,
    member_id: str,
    n: int = 1,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Buy ``n`` chances with points (the lottery's ``buy_points`` each): the points leave through the ledger
    first (an ``adjust`` event), then the chances are recorded under the same id, so a retry with the same
    ``request_id`` (the member's own key) neither charges nor grants twice; the key with another ``n`` is refused
    (``reused``)."""
    at = now or now_utc()
    if n <= 0:
        raise CampaignInvalid("campaign_chances_not_positive", n=n)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        if c.lottery is None or c.lottery.chance_points is None:
            raise CampaignRefused("campaign_chances_not_for_sale", campaign=campaign_id)
        require_running(c, info, campaign_today(c, at), "buying_chances")
        require_treatment(conn, c, member_id)
        points = c.lottery.chance_points * n
        event_id = request_key(f"campaign:{campaign_id}:chances", request_id, member_id)
        if request_id:
            same_request(
                conn,
                "SELECT member_id, chances FROM campaign_chances WHERE grant_id = ?",
                event_id,
                (member_id, n),
                request_id,
            )
            same_request(
                conn,
                "SELECT member_id, points FROM events WHERE event_id = ?",
                event_id,
                (member_id, -points),
                request_id,
            )
    local = at.astimezone(ZoneInfo(c.timezone))
    ev = Event(
        event_id,
        member_id,
        "adjust",
        local,
        local.date(),
        points=-points,
        attrs=chances_note(campaign_id, n, c.lottery.chance_points),
    )
    try:
        result = post_events(engine, [ev])
    except NoActivePlan:
        raise CampaignUnavailable("campaign_chances_no_plan") from None
    if result.rejected:
        raise _ledger_refusal(result.rejected[0])

    def work(conn):
        if not execute(conn, "SELECT 1 FROM campaign_chances WHERE grant_id = ?", [event_id]):
            execute(
                conn,
                "INSERT INTO campaign_chances (grant_id, campaign_id, member_id, chances, points, at) "
                "VALUES (?,?,?,?,?,?)",
                [event_id, campaign_id, member_id, n, points, at],
            )

    with_retries(engine, work)
    return {
        **chances(engine, campaign_id, member_id),
        "bought_now": n,
        "points": points,
        "event_id": event_id,
        "duplicate": bool(result.duplicates),
    }


# What the ledger keeps of a lottery's points: a code and its parameters, never a sentence; the member 360 page and
# /me say it in the reader's language (weixi.members.member360.ledger_note). Notes written before codes were
# ("campaign c1: draw 3: 10元话费", "campaign c1: 2 lottery chance(s) at 50 points") are read there too.
CHANCES_NOTE = "lottery_chances"
PRIZE_NOTE = "lottery_prize"


def chances_note(campaign_id: str, n: int, points_each: int) -> dict:
    """The ``attrs`` of the points paid for ``n`` chances: the code (also the ledger's required ``reason``) and
    its parameters."""
    return {
        "reason": CHANCES_NOTE,
        "note": CHANCES_NOTE,
        "campaign": campaign_id,
        "chances": n,
        "points_each": points_each,
    }


def prize_note(campaign_id: str, seq: int, prize_id: str, prize_name: str) -> str:
    """The award's note of a prize won in draw ``seq``: the code and its parameters as JSON (the award becomes the
    ledger's ``reason`` "campaign <id>: <note>"); the prize's name is the campaign's own, like a reward's."""
    params = {"note": PRIZE_NOTE, "campaign": campaign_id, "seq": seq, "prize": prize_id, "prize_name": prize_name}
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"))


def _ledger_refusal(rejection: Rejection) -> CampaignRefused:
    """The ledger's refusal of the points for chances, with the ledger's own code (``not_enough_points`` ...)."""
    if rejection.code is None:  # refused before codes were stored: the sentence is all there is
        return CampaignRefused("campaign_chances_refused", reason=rejection.reason)
    return CampaignRefused(rejection.code, **(rejection.params or {}))


def draw(
    engine: Engine, campaign_id: str, member_id: str, now: datetime | None = None, request_id: str | None = None
) -> dict:
    """One draw from today's box. Refused with a reason: unknown member, not in the audience, held out, no
    chances left, the day's limit reached, outside the window, nothing left in the box. ``request_id`` is the
    member's key: the same key for the same member returns that draw (``repeated``); for another member it is
    another request."""
    at = now or now_utc()

    def work(conn):
        info, c = load(conn, campaign_id, lock=True)  # serialises draws of this campaign
        if c.lottery is None:
            raise CampaignNotFound("campaign_no_lottery", campaign=campaign_id)
        if request_id:  # the member's own key: another member's draw under the same string is not this one
            found = execute(
                conn,
                "SELECT seq FROM campaign_draws WHERE campaign_id = ? AND member_id = ? AND request_id = ?",
                [campaign_id, member_id, request_id],
            )
            if found:
                return c, int(found[0][0]), True
        day = campaign_today(c, at)
        require_running(c, info, day, "draw")
        _require_hours(c, at)
        require_treatment(conn, c, member_id)
        fold(conn, [member_id])  # the member's bills of lake months into the ledger first (spend chances)
        got = _chances(conn, c, member_id)
        if got.left <= 0:
            raise CampaignRefused(
                "campaign_no_chances_left",
                member=member_id,
                explain=got.explain(),
                held=got.held,
                used=got.used,
                granted=got.granted,
                from_spend=got.from_spend,
                bought=got.bought,
            )
        if c.lottery.max_per_day is not None:
            today = execute(
                conn,
                "SELECT count(*) FROM campaign_draws WHERE campaign_id = ? AND member_id = ? AND day = ?",
                [campaign_id, member_id, day],
            )[0][0]
            if today >= c.lottery.max_per_day:
                raise CampaignRefused(
                    "campaign_draw_daily_limit", member=member_id, drawn=int(today), limit=c.lottery.max_per_day
                )
        rows = execute(
            conn,
            "SELECT item_id, quantity, issued FROM campaign_stock WHERE campaign_id = ? AND day = ?",
            [campaign_id, day.isoformat()],
        )
        left = {(r[0] or None): int(r[1]) - int(r[2]) for r in rows}
        box = [(p.id, left.get(p.id, 0)) for p in c.lottery.prizes] + [(lot.BLANK, left.get(lot.BLANK, 0))]
        if sum(n for _, n in box) <= 0:
            raise CampaignRefused("campaign_box_empty", day=day, tickets=c.lottery.tickets_per_day())
        seq = info["next_draw"]
        mac = lot.draw_mac(bytes.fromhex(info["seed_hex"]), campaign_id, seq, member_id, day)
        prize_id, index, total = lot.pick(mac, box)
        changed = conn.exec_driver_sql(
            (
                "UPDATE campaign_stock SET issued = issued + 1 WHERE campaign_id = %s AND day = %s AND item_id = %s "
                "AND issued < quantity"
            )
            if is_pg(conn)
            else (
                "UPDATE campaign_stock SET issued = issued + 1 WHERE campaign_id = ? AND day = ? AND item_id = ? "
                "AND issued < quantity"
            ),
            (campaign_id, day.isoformat(), prize_id or ""),
        ).rowcount
        if changed != 1:  # cannot happen while the campaign row is locked; never oversell if it does
            raise CampaignRefused("campaign_draw_stock_changed", prize=prize_id)
        execute(conn, "UPDATE campaigns SET next_draw = ? WHERE campaign_id = ?", [seq + 1, campaign_id])
        execute(
            conn,
            "INSERT INTO campaign_draws (campaign_id, seq, member_id, day, at, prize_id, mac, ticket, "
            "tickets, request_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [campaign_id, seq, member_id, day, at, prize_id, mac, index, total, request_id],
        )
        prize = c.lottery.prize(prize_id) if prize_id else None
        if prize is not None and prize.points:
            execute(
                conn,
                "INSERT INTO campaign_awards (event_id, campaign_id, member_id, kind, points, status, note) "
                "VALUES (?,?,?,?,?,?,?)",
                [
                    f"campaign:{campaign_id}:draw:{seq}",
                    campaign_id,
                    member_id,
                    "prize",
                    prize.points,
                    "pending",
                    prize_note(campaign_id, seq, prize.id, prize.name),
                ],
            )
        return c, seq, False

    c, seq, repeated = with_retries(engine, work)
    post_pending_awards(engine, campaign_id)
    return {**draw_record(engine, campaign_id, seq), "repeated": repeated}


def _require_hours(c: Campaign, at: datetime) -> None:
    """The draw hours (抽奖时间 "每天下午3点30分-5点"), in the campaign's timezone: from the first minute up to the
    last one inclusive (15:30:00 to 17:00:00)."""
    if c.lottery.hours is None:
        return
    start, end = c.lottery.hours
    clock = at.astimezone(ZoneInfo(c.timezone)).time()
    if not start <= clock <= end:
        raise CampaignRefused(
            "campaign_draw_outside_hours",
            campaign=c.id,
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
            now=clock.strftime("%H:%M:%S"),
            timezone=c.timezone,
        )


def draw_record(engine: Engine, campaign_id: str, seq: int) -> dict:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        r = execute(
            conn,
            "SELECT seq, member_id, day, at, prize_id, mac, ticket, tickets FROM campaign_draws "
            "WHERE campaign_id = ? AND seq = ?",
            [campaign_id, seq],
        )[0]
    ensure_folded(engine, [r[1]])  # a close since the draw may have put more of the member's bills in the lake
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        left = _chances(conn, c, r[1]).left
    prize = c.lottery.prize(r[4]) if r[4] else None
    return {
        "campaign_id": campaign_id,
        "seq": int(r[0]),
        "member_id": r[1],
        "day": str(as_date(r[2])),
        "at": iso_text(r[3]),
        "prize_id": r[4],
        "prize": prize.name if prize else "谢谢参与 (blank)",
        "points": prize.points if prize else 0,
        "value_yuan": str(Decimal(prize.value_fen) / 100) if prize else "0",
        "mac": r[5],
        "ticket": int(r[6]),
        "tickets": int(r[7]),
        "chances_left": left,
    }


def stock(engine: Engine, campaign_id: str, day: date | None = None) -> list[dict]:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        sql, params = "SELECT day, item_id, quantity, issued FROM campaign_stock WHERE campaign_id = ?", [campaign_id]
        if day is not None:
            sql += " AND day = ?"
            params.append(day.isoformat())
        rows = execute(conn, sql + " ORDER BY day, item_id", params)
    return [
        {
            "day": r[0],
            "item": r[1] or "(blank)",
            "quantity": int(r[2]),
            "issued": int(r[3]),
            "left": int(r[2]) - int(r[3]),
        }
        for r in rows
    ]
