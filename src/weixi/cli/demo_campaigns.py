"""The demo's campaigns (``weixi demo``): each example campaign brought to a state of its lifecycle, and the members
taking part while it runs, so that the campaign pages show participants, draws, winners, gifts and streaks.

What members do goes through the campaign and ledger services as at the counter or in the app: a lottery's draws
(chances granted to the audience, earned by spend, or bought with points), a visit's gifts, daily check-ins.
Nothing is posted into a month the close has closed. A closed campaign whose members' part writes the ledger (chances
bought with points, check-ins: :data:`DURING_CLOSES`) runs month by month while the demo closes its months, each day
before its month's close (:meth:`Campaigns.before_close`); the others run after the closes, which post the bills a
spend lottery counts its chances from, and a points prize won in a closed month is credited on the day the demo runs
(:func:`weixi.campaigns.awards.award_day`). Members are taken in a fixed order from the treatment group, so the same
seed builds the same campaigns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

from weixi.close.months import first_day, next_month

# The campaigns of the demo, each brought to a state of its lifecycle: (example file, new id or None, state,
# window start and end as days from today). Each example file is named after the campaign id it holds.
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
DRAWS = 250  # draws a lottery campaign's members make at most over its window (the demo's time: 20-40 ms a draw)
VISITS = 25  # visits with gifts a day at most


# Closed campaigns whose members' part writes the ledger (chances bought with points, check-ins): run month by month
# while the demo closes its months, so that each is dated in a month still open (:class:`Campaigns`). A campaign whose
# chances come from spend runs after the closes, which post the bills its chances are counted from.
DURING_CLOSES = {"points-carnival"}


class Campaigns:
    """The demo's campaigns: :meth:`before_close` (called before each month's close) runs those of
    :data:`DURING_CLOSES` whose window has days in the month; :meth:`build` (after the closes) creates the others and
    takes each through its lifecycle. A started one has its members take part from its first day up to its last or
    today (``now``: the demo's clock)."""

    def __init__(self, engine, data: Path, examples: Path, today: date, zone: ZoneInfo, now: datetime, step) -> None:
        from ruamel.yaml import YAML

        self.engine, self.data, self.examples, self.today, self.zone, self.now, self.step = (
            engine, data, examples, today, zone, now, step
        )  # fmt: skip
        self.yaml = YAML()
        self.yaml.preserve_quotes = True
        self.built: dict = {}  # campaign -> its state and what its members did
        self.running: dict = {}  # a campaign of DURING_CLOSES started and not yet closed -> what its members did
        self.resume: dict = {}  # such a campaign -> the first day its members have not yet had

    def before_close(self, month: str) -> None:
        """Before ``month`` is closed: each campaign of :data:`DURING_CLOSES` whose window has days in it is started
        (when it is not), its members take part on those days, and it is closed when its window ends in the month."""
        month_first = first_day(month)
        month_last = first_day(next_month(month)) - timedelta(days=1)
        for spec in CAMPAIGNS:
            cid, first, last = self._window(spec)
            if cid not in DURING_CLOSES or cid in self.built or last < month_first or first > month_last:
                continue
            if cid not in self.running:
                self._start(spec)
            lo, hi = max(first, month_first), min(last, month_last, self.today)
            _add(self.running[cid], take_part(self.engine, self.data, cid, lo, hi, self.now, self.zone))
            self.resume[cid] = hi + timedelta(days=1)
            if last <= month_last:
                self._act(cid, "close", datetime.combine(last + timedelta(days=1), datetime.min.time(), self.zone))
                self.built[cid] = {"state": spec[2], **self.running.pop(cid)}
                self.resume.pop(cid, None)
                self._said(cid)

    def build(self) -> dict:
        """Every campaign of :data:`CAMPAIGNS` not built during the closes; per campaign its state and what its
        members did (draws, gift claims, check-ins)."""
        for spec in CAMPAIGNS:
            cid, first, last = self._window(spec)
            state = spec[2]
            if cid in self.built:
                continue
            started = cid in self.running or self._start(spec)
            done = self.running.pop(cid, None) or {"draws": 0, "gifts": 0, "checkins": 0}
            if started and state == "cancelled":  # called off on its first day, before anyone took part
                self._act(cid, "cancel", datetime.combine(first, datetime.min.time(), self.zone) + timedelta(hours=2))
            elif started:
                # from the first day, or the day after the last month closed while it ran (a window past the closes)
                since = self.resume.pop(cid, first)
                _add(done, take_part(self.engine, self.data, cid, since, min(last, self.today), self.now, self.zone))
                if state == "closed":
                    self._act(cid, "close", datetime.combine(last + timedelta(days=1), datetime.min.time(), self.zone))
            self.built[cid] = {"state": state, **done}
            self._said(cid)
        return self.built

    def _window(self, spec) -> tuple[str, date, date]:
        file, new_id, _state, start, stop = spec
        return (
            new_id or file.removesuffix(".yaml"),
            self.today + timedelta(days=start),
            self.today + timedelta(days=stop),
        )

    def _start(self, spec) -> bool:
        """Create the campaign and take it as far as its state asks before its members take part: submitted,
        approved, started (a running, closed or cancelled one). Whether it started."""
        from weixi.campaigns import service as campaigns

        file, new_id, state, _start, _stop = spec
        cid, first, last = self._window(spec)
        doc = self.yaml.load((self.examples / file).read_text(encoding="utf-8"))
        doc["campaign"] = cid
        if new_id:
            doc["name"] = NAMES.get(new_id, doc["name"])
        doc["window"]["from"], doc["window"]["to"] = first, last
        buf = StringIO()
        self.yaml.dump(doc, buf)
        created = datetime.combine(min(first, self.today) - timedelta(days=10), datetime.min.time(), self.zone)
        self.step(f"campaign {cid}: {state}")
        campaigns.create(self.engine, buf.getvalue(), f"{cid}.yaml", "analyst", now=created)
        steps = {"draft": [], "submitted": ["submit"], "approved": ["submit", "approve"]}.get(
            state, ["submit", "approve", "start"]
        )
        for n, action in enumerate(steps, start=1):
            at = created + timedelta(hours=2 * n)
            self._act(cid, action, datetime.combine(first, datetime.min.time(), self.zone) if action == "start" else at)
        if "start" in steps:
            self.running.setdefault(cid, {"draws": 0, "gifts": 0, "checkins": 0})
        return "start" in steps

    def _act(self, cid: str, action: str, at: datetime) -> None:
        from weixi.campaigns import service as campaigns

        note = "门店装修，活动改期" if action == "cancel" else None
        by = "admin" if action != "submit" else "analyst"
        campaigns.act(self.engine, cid, action, by, note=note, now=at, data_dir=self.data)

    def _said(self, cid: str) -> None:
        done = self.built[cid]
        if done["draws"] or done["gifts"] or done["checkins"]:
            self.step(
                f"campaign {cid}: {done['draws']} draws, {done['gifts']} gift claims, {done['checkins']} check-ins"
            )


def _add(total: dict, more: dict) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


def take_part(engine, data: Path, campaign_id: str, first: date, last: date, now: datetime, zone: ZoneInfo) -> dict:
    """The treatment group's members taking part on each day from ``first`` to ``last``, never after ``now``:
    draws of a lottery whose chances are granted or earned by spend (then by the members whose paid bills in the
    window earn one), gifts of a visit; and, only on days after the last month the close has closed (they write the
    ledger: nothing goes into a closed month), chances bought with points and drawn, and daily check-ins."""
    from weixi.adapters.ledger_repo import closed_through
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
        closed = closed_through(conn)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    open_days = [d for d in days if closed is None or d > closed]
    done = {"draws": 0, "gifts": 0, "checkins": 0}
    if not members or not days:
        return done
    lottery = c.lottery
    if lottery is not None and lottery.chance_points and open_days:
        buyers = _with_points(data, members, open_days[0], lottery.chance_points)
        done["draws"] = _draws(engine, c, buyers, open_days, now, zone, buy=True) if buyers else 0
    elif lottery is not None and (lottery.grant or lottery.per_yuan):
        drawers = members if lottery.grant else _spenders(data, members, first, last, int(lottery.per_yuan * 100))
        done["draws"] = _draws(engine, c, drawers, days, now, zone) if drawers else 0
    if c.gifts:
        done["gifts"] = _gifts(engine, c, members, days, now, zone)
    if c.streaks and open_days:
        done["checkins"] = _checkins(engine, c, members, open_days, now, zone)
    return done


def _with_points(data: Path, members: list[str], day: date, points: int) -> list[str]:
    """Of ``members``, those the latest close before ``day`` left with ``points`` or more."""
    from weixi.adapters import duck
    from weixi.close import store

    before = [m for m in store.months(data, "snapshots") if m < day.strftime("%Y-%m")]
    files = store.uris(data, "snapshots", before[-1]) if before else []
    if not files:
        return []
    with duck.reader() as con:
        rows = con.execute(
            "SELECT member_id FROM read_parquet(?) WHERE points_balance >= ?", [[str(f) for f in files], points]
        ).fetchall()
    rich = {r[0] for r in rows}
    return [m for m in members if m in rich]


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


def _draws(engine, c, members: list[str], days: list[date], now: datetime, zone: ZoneInfo, buy: bool = False) -> int:
    """Draws spread over ``days``; ``buy``: each drawer first buys the chance with points (the lottery's price)."""
    from weixi.campaigns import lottery_service
    from weixi.campaigns.errors import CampaignRefused

    window_days = (c.window.end - c.window.start).days + 1  # the same a day whether run in one call or month by month
    a_day = max(1, min(c.lottery.tickets_per_day() * 3 // 4, DRAWS // window_days, len(members) // 30))
    made, k = 0, 0
    for day in days:
        for at in _moments(day, a_day, zone, now, c.lottery.hours):
            member = members[(k * 7919) % len(members)]  # a prime stride spreads the picks over the audience
            k += 1
            try:
                if buy:
                    lottery_service.buy_chances(engine, c.id, member, 1, request_id=f"demo-buy-{k}", now=at)
                lottery_service.draw(engine, c.id, member, now=at, request_id=f"demo-{k}")
            except CampaignRefused:  # no chance left (too little spend or points), the box empty: no draw
                continue
            made += 1
    return made


def _checkins(engine, c, members: list[str], days: list[date], now: datetime, zone: ZoneInfo) -> int:
    """Daily check-ins: a few members every day of ``days`` (streaks long enough for the campaign's rewards), a few
    more every other day. Through the ledger as the member's page does (``selfservice.check_in``)."""
    from weixi.errors import WeixiError
    from weixi.ledger import selfservice

    every = members[: max(1, len(members) // 1000)]
    some = members[len(every) : len(every) + max(1, len(members) // 500)]
    made = 0
    for n, day in enumerate(days):
        at = datetime.combine(day, time(8, 30), zone)
        if at > now:
            break
        for member in every + (some if n % 2 == 0 else []):
            try:
                selfservice.check_in(engine, member, at)
            except WeixiError:  # refused by the ledger (a check-in out of order): this member skips the day
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
