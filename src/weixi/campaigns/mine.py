"""The campaigns one member takes part in right now, as the member's own page shows them: running, today inside the
window, the member in the treatment group; for a lottery, the chances left, the draw hours, the prizes and the
member's own draws. Read-only; drawing is :func:`weixi.campaigns.lottery_service.draw`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters.sql import as_date, execute
from weixi.campaigns.lottery_service import chances
from weixi.campaigns.model import RUNNING
from weixi.campaigns.store import campaign_today, load

RECENT_DRAWS = 5


def running_for(engine: Engine, member_id: str, at: datetime) -> list[dict]:
    """The member's running campaigns, by start date: ``campaign_id``, ``name``, ``description``, ``from``, ``to``
    and, for a lottery, ``lottery``: ``left`` / ``held`` / ``used`` chances, ``drawn_today`` and ``max_per_day``,
    ``hours`` (``("15:30", "17:00")`` or None), ``open_now`` (inside the window and the hours), ``prizes`` (names)
    and the member's ``draws`` (newest first: ``day``, ``prize`` name or None for a blank)."""
    out = []
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        ids = execute(
            conn,
            "SELECT c.campaign_id FROM campaigns c JOIN campaign_members m ON m.campaign_id = c.campaign_id "
            "WHERE c.status = ? AND m.member_id = ? AND m.grp = 'treatment' ORDER BY c.window_start, c.campaign_id",
            [RUNNING, member_id],
        )
        for (campaign_id,) in ids:
            _, c = load(conn, campaign_id)
            day = campaign_today(c, at)
            if not c.window.contains(day):
                continue
            item = {
                "campaign_id": c.id,
                "name": c.name,
                "description": c.description,
                "from": str(c.window.start),
                "to": str(c.window.end),
                "lottery": None,
            }
            if c.lottery is not None:
                got = chances(engine, c.id, member_id)
                draws = execute(
                    conn,
                    "SELECT day, prize_id FROM campaign_draws WHERE campaign_id = ? AND member_id = ? "
                    "ORDER BY seq DESC LIMIT ?",
                    [c.id, member_id, RECENT_DRAWS],
                )
                today = execute(
                    conn,
                    "SELECT count(*) FROM campaign_draws WHERE campaign_id = ? AND member_id = ? AND day = ?",
                    [c.id, member_id, day],
                )[0][0]
                hours = c.lottery.hours
                clock = at.astimezone(ZoneInfo(c.timezone)).time()
                open_now = hours is None or hours[0] <= clock <= hours[1]
                item["lottery"] = {
                    "left": got["left"],
                    "held": got["held"],
                    "used": got["used"],
                    "drawn_today": int(today),
                    "max_per_day": c.lottery.max_per_day,
                    "hours": (hours[0].strftime("%H:%M"), hours[1].strftime("%H:%M")) if hours else None,
                    "open_now": open_now,
                    "prizes": [p.name for p in c.lottery.prizes],
                    "draws": [
                        {
                            "day": str(as_date(d)),
                            "prize": c.lottery.prize(p).name if p and c.lottery.prize(p) else None,
                        }
                        for d, p in draws
                    ],
                }
            out.append(item)
    return out
