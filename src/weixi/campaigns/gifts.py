"""Gifts handed out on a member's visit during a running campaign: first come first served from the gift's stock,
within its per-member limit; the member's request id makes a retry hand out nothing more."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.campaigns.errors import CampaignInvalid, CampaignNotFound, CampaignRefused
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
        had = int(
            execute(
                conn,
                "SELECT coalesce(sum(qty), 0) FROM campaign_claims WHERE campaign_id = ? AND "
                "member_id = ? AND gift_id = ?",
                [campaign_id, member_id, gift_id],
            )[0][0]
        )
        if had + qty > gift.per_member:
            raise CampaignRefused(
                "campaign_gift_member_limit", member=member_id, had=had, gift=gift_id, limit=gift.per_member
            )
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
