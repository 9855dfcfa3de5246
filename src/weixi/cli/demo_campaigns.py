"""The demo's campaigns (``weixi demo``): each example campaign brought to a state of its lifecycle, and the members
taking part while it runs, so that the campaign pages show participants, draws, winners and gifts handed out.

What members do goes through the campaign services as at the counter or in the app: a lottery's draws (chances
granted to the audience or earned by spend; a prize in points is credited through the ledger), a visit's gifts.
Nothing is posted into a month the close has closed: buying chances with points (a debit dated the draw's day) and
check-ins are left out of a window in closed months, and a points prize won there is credited on the day the demo
runs (:func:`weixi.campaigns.awards.award_day`). Members are taken in a fixed order from the treatment group, so the
same seed builds the same campaigns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

# The campaigns of the demo, each brought to a state of its lifecycle: (example file, new id or None, state,
# window start and end as days from today).
CAMPAIGNS = (
    ("points-carnival.yaml", None, "closed", -75, -45),
    ("new-customer-month.yaml", None, "closed", -44, -14),
    ("anniversary-draw.yaml", None, "running", -1, 1),
    ("midyear-gratitude.yaml", None, "running", -3, 14),
    ("anniversary-draw.yaml", "spring-draw", "approved", 60, 61),
    ("scratch-cards.yaml", None, "submitted", 30, 120),
    ("midyear-gratitude.yaml", "new-year-gifts", "draft", 25, 40),
    ("midyear-gratitude.yaml", "summer-gratitude", "cancelled", -5, 20),
)
NAMES = {"spring-draw": "春节现场抽奖", "new-year-gifts": "元旦客户回馈", "summer-gratitude": "夏季回馈"}
DRAWS = 400  # draws a lottery campaign's members make at most over its window (the demo's time: ~20 ms a draw)
VISITS = 25  # visits with gifts a day at most


def build(engine, data: Path, examples: Path, today: date, zone: ZoneInfo, now: datetime, step) -> dict:
    """Create every campaign of :data:`CAMPAIGNS` and take it through its lifecycle; a started one has its members
    take part from its first day up to its last or today (``now``: the demo's clock). Per campaign: its state, and
    the draws and gift claims made."""
    from ruamel.yaml import YAML

    from weixi.campaigns import service as campaigns

    yaml = YAML()
    yaml.preserve_quotes = True
    built = {}
    for file, new_id, state, start, stop in CAMPAIGNS:
        doc = yaml.load((examples / file).read_text(encoding="utf-8"))
        cid = new_id or doc["campaign"]
        doc["campaign"] = cid
        if new_id:
            doc["name"] = NAMES.get(new_id, doc["name"])
        first, last = today + timedelta(days=start), today + timedelta(days=stop)
        doc["window"]["from"], doc["window"]["to"] = first, last
        buf = StringIO()
        yaml.dump(doc, buf)
        created = datetime.combine(min(first, today) - timedelta(days=10), datetime.min.time(), zone)
        step(f"campaign {cid}: {state}")
        campaigns.create(engine, buf.getvalue(), f"{cid}.yaml", "analyst", now=created)
        steps = {"draft": [], "submitted": ["submit"], "approved": ["submit", "approve"]}.get(
            state, ["submit", "approve", "start"] + {"closed": ["close"], "cancelled": ["cancel"]}.get(state, [])
        )
        at, done = created, {"draws": 0, "gifts": 0}
        for action in steps:
            if action == "start":
                at = datetime.combine(first, datetime.min.time(), zone)
            elif action == "close":
                at = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
            else:
                at = at + timedelta(hours=2)
            note = "门店装修，活动改期" if action == "cancel" else None
            by = "admin" if action != "submit" else "analyst"
            campaigns.act(engine, cid, action, by, note=note, now=at, data_dir=data)
            if action == "start" and state in ("running", "closed"):
                done = take_part(engine, data, cid, first, min(last, today), now, zone)
                if done["draws"] or done["gifts"]:
                    step(f"campaign {cid}: {done['draws']} draws, {done['gifts']} gift claims")
        built[cid] = {"state": state, **done}
    return built


def take_part(engine, data: Path, campaign_id: str, first: date, last: date, now: datetime, zone: ZoneInfo) -> dict:
    """The treatment group's members taking part on each day from ``first`` to ``last``, never after ``now``:
    draws of a lottery whose chances are granted or earned by spend (then by the members whose paid bills in the
    window earn one), gifts of a visit."""
    from weixi.adapters.sql import execute
    from weixi.campaigns.store import load

    with engine.connect() as conn:
        _, c = load(conn, campaign_id)
        members = [
            r[0]
            for r in execute(
                conn,
                "SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment' ORDER BY member_id",
                [campaign_id],
            )
        ]
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    done = {"draws": 0, "gifts": 0}
    if not members or not days:
        return done
    if c.lottery is not None and (c.lottery.grant or c.lottery.per_yuan) and not c.lottery.chance_points:
        drawers = members if c.lottery.grant else _spenders(data, members, first, last, int(c.lottery.per_yuan * 100))
        done["draws"] = _draws(engine, c, drawers, days, now, zone) if drawers else 0
    if c.gifts:
        done["gifts"] = _gifts(engine, c, members, days, now, zone)
    return done


def _spenders(data: Path, members: list[str], first: date, last: date, fen: int) -> list[str]:
    """Of ``members``, those whose bills paid from ``first`` to ``last`` come to ``fen`` or more (the generated
    operator's bill files, which the closes posted): the ones a lottery of one chance per so much spend lets draw."""
    from weixi.adapters import duck

    files = sorted(str(p) for p in (Path(data) / "bills").glob("*.parquet"))
    if not files:
        return members
    with duck.reader() as con:
        rows = con.execute(
            "SELECT member_id FROM read_parquet(?) WHERE paid AND paid_on >= ? AND paid_on <= ? GROUP BY member_id "
            "HAVING sum(amount_fen) >= ?",
            [files, first, last, fen],
        ).fetchall()
    spent = {r[0] for r in rows}
    return [m for m in members if m in spent]


def _moments(day: date, count: int, zone: ZoneInfo, now: datetime, hours: tuple[time, time] | None) -> list:
    """``count`` moments of ``day`` spread over its hours (the lottery's, else 09:00-20:00), none after ``now``."""
    start, end = hours or (time(9), time(20))
    begin = datetime.combine(day, start, zone)
    span = (datetime.combine(day, end, zone) - begin).total_seconds()
    spread = [begin + timedelta(seconds=int(span * k / max(count, 1))) for k in range(count)]
    return [at for at in spread if at <= now]


def _draws(engine, c, members: list[str], days: list[date], now: datetime, zone: ZoneInfo) -> int:
    from weixi.campaigns import lottery_service
    from weixi.campaigns.errors import CampaignRefused

    a_day = max(1, min(c.lottery.tickets_per_day() * 3 // 4, DRAWS // len(days), len(members) // 30))
    made, k = 0, 0
    for day in days:
        for at in _moments(day, a_day, zone, now, c.lottery.hours):
            member = members[(k * 7919) % len(members)]  # a prime stride spreads the picks over the audience
            k += 1
            try:
                lottery_service.draw(engine, c.id, member, now=at, request_id=f"demo-{k}")
            except CampaignRefused:  # no chance left (too little spend), the box empty: this member does not draw
                continue
            made += 1
    return made


def _gifts(engine, c, members: list[str], days: list[date], now: datetime, zone: ZoneInfo) -> int:
    """Visits at the counter: each visitor takes one gift of the campaign still in stock for them, the gifts taken
    in turn (a per-visit gift: 1-3 of it; not a referral's), handed out by the ``agent`` login."""
    from weixi.campaigns import gifts
    from weixi.campaigns.errors import CampaignRefused

    kept = {c.referral.referrer_gift, c.referral.referee_gift} if c.referral else set()
    offered = [g for g in c.gifts if g.id not in kept]  # a referral's gifts go with the referral
    if not offered:
        return 0
    a_day = max(1, min(VISITS, len(members) // 100))
    made, k = 0, 0
    for day in days:
        for at in _moments(day, a_day, zone, now, None):
            member = members[(k * 104729 + 13) % len(members)]
            k += 1
            for gift in offered[k % len(offered) :] + offered[: k % len(offered)]:
                qty = 1 + k % 3 if gift.per_visit else 1
                try:
                    gifts.claim_gift(engine, c.id, member, gift.id, qty=qty, by="agent", now=at, request_id=f"demo-{k}")
                except CampaignRefused:  # had it already, out of stock: the next gift
                    continue
                made += 1
                break
    return made
