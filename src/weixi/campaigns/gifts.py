"""Gifts handed out on a member's visit during a running campaign: first come first served from the gift's stock,
within its limits as the file writes them (per member or per key client over the campaign, or none; per visit, a
visit being the member's day at the counter); the member's request id makes a retry hand out nothing more."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import execute
from weixi.campaigns.errors import CampaignInvalid, CampaignNotFound, CampaignRefused
from weixi.campaigns.model import Campaign, Gift
from weixi.campaigns.participation import request_key, require_running, require_treatment, same_request
from weixi.campaigns.store import campaign_today, load, now_utc
from weixi.ledger.posting import with_retries

# --- gifts on visit ------------------------------------------------------------------------------


def claim_gift(
    engine: Engine,
    campaign_id: str,
    member_id: str,
    gift_id: str,
    qty: int = 1,
    by: str | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
    reason: str = "visit",
    check_member: bool = True,
) -> dict:
    """Hand out ``qty`` of a gift: first come first served from its stock, within its per-member limit.
    ``request_id`` is the member's key: a retry hands out nothing more; the key with another gift or qty is refused."""
    at = now or now_utc()
    if qty <= 0:
        raise CampaignInvalid("campaign_gift_qty_not_positive", qty=qty)

    def work(conn):
        info, c = load(conn, campaign_id, lock=True)
        gift = c.gift(gift_id)
        if gift is None:
            raise CampaignNotFound(
                "campaign_unknown_gift", campaign=campaign_id, gift=gift_id, gifts=[g.id for g in c.gifts] or None
            )
        claim_id = request_key(f"campaign:{campaign_id}:gift", request_id, member_id)
        if request_id and same_request(
            conn,
            "SELECT member_id, gift_id, qty FROM campaign_claims WHERE claim_id = ?",
            claim_id,
            (member_id, gift_id, qty),
            request_id,
        ):
            return claim_id
        if check_member:  # a referral's gift is handed out when the referral settles, possibly at close
            require_running(c, info, campaign_today(c, at), "gift")
            require_treatment(conn, c, member_id)
        _within_limits(conn, c, gift, member_id, qty, at)
        q, issued = execute(
            conn,
            "SELECT quantity, issued FROM campaign_stock WHERE campaign_id = ? AND day = '*' AND item_id = ?",
            [campaign_id, gift_id],
        )[0]
        if int(issued) + qty > int(q):
            raise CampaignRefused("campaign_gift_out_of_stock", gift=gift_id, left=int(q) - int(issued), qty=qty)
        execute(
            conn,
            "UPDATE campaign_stock SET issued = issued + ? WHERE campaign_id = ? AND day = '*' AND item_id = ?",
            [qty, campaign_id, gift_id],
        )
        execute(
            conn,
            "INSERT INTO campaign_claims (claim_id, campaign_id, gift_id, member_id, qty, reason, at, by) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [claim_id, campaign_id, gift_id, member_id, qty, reason, at, by],
        )
        return claim_id

    claim_id = with_retries(engine, work)
    return {"campaign_id": campaign_id, "claim_id": claim_id, "member_id": member_id, "gift": gift_id, "qty": qty}


def _had(conn: Connection, c: Campaign, gift: Gift, member_id: str) -> int:
    sql = "SELECT coalesce(sum(qty), 0) FROM campaign_claims WHERE campaign_id = ? AND member_id = ? AND gift_id = ?"
    return int(execute(conn, sql, [c.id, member_id, gift.id])[0][0])


def _had_on(conn: Connection, c: Campaign, gift: Gift, member_id: str, day: date) -> int:
    """What the member claimed of the gift on ``day`` in the campaign's timezone (the member's few claims are read:
    stored times keep the offset they were given with, so they are compared as moments, not as text)."""
    rows = execute(
        conn,
        "SELECT at, qty FROM campaign_claims WHERE campaign_id = ? AND member_id = ? AND gift_id = ?",
        [c.id, member_id, gift.id],
    )
    tz = ZoneInfo(c.timezone)
    return sum(int(qty) for at, qty in rows if _moment(at).astimezone(tz).date() == day)


def _moment(value) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _within_limits(conn: Connection, c: Campaign, gift: Gift, member_id: str, qty: int, at: datetime) -> None:
    """The gift's limits as the file writes them: over the campaign (``per_member``, or ``per_key_client`` for a
    member on the key-client list; none when ``unlimited``) and on one visit (``per_visit``). A visit is the
    member's day at the counter: every claim of this gift by the member on that calendar day in the campaign's
    timezone counts, so splitting one visit into several requests does not lift the limit."""
    key_client = member_id in c.key_clients
    limit = gift.limit_for(key_client)
    if limit is not None:
        had = _had(conn, c, gift, member_id)
        if had + qty > limit:
            code = (
                "campaign_gift_key_client_limit" if key_client and gift.per_key_client else "campaign_gift_member_limit"
            )
            raise CampaignRefused(code, member=member_id, had=had, gift=gift.id, limit=limit)
    if gift.per_visit is not None:
        day = at.astimezone(ZoneInfo(c.timezone)).date()
        today = _had_on(conn, c, gift, member_id, day)
        if today + qty > gift.per_visit:
            raise CampaignRefused(
                "campaign_gift_visit_limit",
                member=member_id,
                had=today,
                qty=qty,
                gift=gift.id,
                limit=gift.per_visit,
                day=day,
            )
