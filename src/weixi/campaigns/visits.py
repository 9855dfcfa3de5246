"""What a member can do in the running campaigns when they come to the counter (issue 18 §1, 营业员): for each
campaign running today, whether the member is in its audience, the lottery's chances left and draw hours, and
each visit gift with what the member already had of it. Read-only; the draw and the gift themselves are
:func:`weixi.campaigns.lottery_service.draw` and :func:`weixi.campaigns.gifts.claim_gift`, which check every rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.campaigns.lottery_service import chances
from weixi.campaigns.model import RUNNING
from weixi.campaigns.store import campaign_today, load, now_utc


def for_member(engine: Engine, member_id: str, now: datetime | None = None) -> list[dict]:
    """The running campaigns whose window holds today, as the counter shows them to a clerk."""
    at = now or now_utc()
    out = []
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        ids = [r[0] for r in execute(conn, "SELECT campaign_id FROM campaigns WHERE status = ?", [RUNNING])]
        for campaign_id in sorted(ids):
            info, c = load(conn, campaign_id)
            day = campaign_today(c, at)
            if not c.window.start <= day <= c.window.end:
                continue
            grp = execute(
                conn,
                "SELECT grp FROM campaign_members WHERE campaign_id = ? AND member_id = ?",
                [campaign_id, member_id],
            )
            group = grp[0][0] if grp else None
            lottery = None
            if c.lottery is not None:
                lottery = {"hours": [t.strftime("%H:%M") for t in c.lottery.hours] if c.lottery.hours else None}
            had = dict(
                execute(
                    conn,
                    "SELECT gift_id, coalesce(sum(qty), 0) FROM campaign_claims WHERE campaign_id = ? "
                    "AND member_id = ? GROUP BY gift_id",
                    [campaign_id, member_id],
                )
            )
            left = dict(
                execute(
                    conn,
                    "SELECT item_id, quantity - issued FROM campaign_stock WHERE campaign_id = ? AND day = '*'",
                    [campaign_id],
                )
            )
            key_client = member_id in c.key_clients
            gifts = [
                {
                    "gift_id": g.id,
                    "name": g.name,
                    "had": int(had.get(g.id, 0)),
                    "limit": g.limit_for(key_client),
                    "per_visit": g.per_visit,
                    "stock_left": int(left.get(g.id, 0)),
                }
                for g in c.gifts
            ]
            if lottery is None and not gifts:
                continue
            out.append(
                {
                    "campaign_id": campaign_id,
                    "name": c.name,
                    "to": str(c.window.end),
                    "group": group,
                    "lottery": lottery,
                    "gifts": gifts,
                }
            )
    for found in out:  # the lottery's chances, through the draw's own count
        if found["lottery"] is not None:
            got = chances(engine, found["campaign_id"], member_id)
            found["lottery"].update(left=got["left"], used=got["used"])
    return out
