"""Campaign files in the plan loader: ``kind: campaign`` at the top of a plan file selects this checker.

:func:`load_campaign` is registered in :mod:`weixi.plans.kinds` as the checker of ``kind: campaign``; it reads the file against
:mod:`weixi.campaigns.schema` and resolves the spec into a :class:`~weixi.campaigns.model.Campaign`, reporting
every problem with its line and column: dates outside the window, a prize table whose levels do not add up to
the stated daily total, budget lines that repeat, a high risk without a response, and so on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from weixi.campaigns import model as m
from weixi.campaigns import schema
from weixi.plans.checks import fen, unique, where
from weixi.plans.diagnostics import Diagnostic, Pos, Report
from weixi.plans.kinds import PlanKind, register
from weixi.plans.spec import Spec, read
from weixi.plans.values import BadValue, did_you_mean
from weixi.plans.yaml_source import DateText, Mapping, Scalar, Sequence
from weixi.settings import DEFAULT_TIMEZONE


def load_campaign(node: Mapping, filename: str) -> tuple[m.Campaign | None, list[Diagnostic]]:
    report = Report(filename)
    val = read(node, schema.CAMPAIGN, report)
    campaign = resolve(val.value, filename, report)
    found = sorted(report.items, key=Diagnostic.sort_key)
    return (None if report.has_errors else campaign), found


def _money(spec: Spec, key: str, report: Report) -> int:
    yuan = spec.get(key)
    if yuan is None:
        return 0
    value = fen(yuan)
    if value != value.to_integral_value():
        report.error(spec.at(key), f"{key} {yuan} is not a whole number of fen (at most 2 decimals)")
        return 0
    return int(value)


def _vals(spec: Spec, key: str) -> tuple:
    return tuple(x.value for x in spec.items(key))


def resolve(spec: Spec, filename: str, report: Report) -> m.Campaign | None:
    win = spec.get("window")
    if win is None or win.get("from") is None or win.get("to") is None:
        return None
    window = m.Window(win.get("from"), win.get("to"))
    if window.end < window.start:
        report.error(win.at("to"), f"window ends ({window.end}) before it starts ({window.start})")
        return None
    campaign = m.Campaign(
        id=spec.get("campaign", ""), name=spec.get("name", ""), window=window,
        description=spec.get("description", ""), owner=spec.get("owner", ""),
        timezone=spec.get("timezone", DEFAULT_TIMEZONE),
        objectives=_objectives(spec, report), audience=_audience(spec.get("audience"), report),
        budget=_budget(spec, report), cost_per_point=spec.get("cost_per_point"),
        points_rules=_vals(spec, "points_rules"),
        milestones=_milestones(spec, window, report), channels=_channels(spec, window, report),
        risks=_risks(spec, report), lottery=_lottery(spec.get("lottery"), window, report),
        leaderboard=_leaderboard(spec.get("leaderboard"), report), referral=_referral(spec.get("referral"), report),
        streaks=_streaks(spec, report), gifts=_gifts(spec, report), follow_ups=_follow_ups(spec, report),
        outcome=(spec.get("evaluation") or Spec(Pos())).get("outcome", "spend"),
        margin_share=(spec.get("evaluation") or Spec(Pos())).get("margin_share", Decimal(1)),
        source=filename,
    )
    _cross_checks(spec, campaign, report)
    return campaign


def _objectives(spec: Spec, report: Report) -> tuple[m.Objective, ...]:
    unique(spec.items("objectives"), "id", "objective", report)
    out = []
    for item in spec.items("objectives"):
        o: Spec = item.value
        metric, target = o.get("metric"), o.get("target")
        if metric is None or target is None:
            continue
        if metric in m.RATE_METRICS and target > 1:
            report.error(o.at("target"), f"target {target} of a rate must be a share from 0 to 1"
                                         f" (write \"{(target / 100).normalize()}\" for {target}%)")
        if metric in ("participants", "referrals", "new_members", "points_issued", "points_redeemed") \
                and target != target.to_integral_value():
            report.error(o.at("target"), f"target {target} of {metric} must be a whole number")
        out.append(m.Objective(o.get("id"), o.get("name", o.get("id")), metric, target))
    if "objectives" in spec.fields and not out and not report.has_errors:
        report.error(spec.at("objectives"), "a campaign needs at least one measurable objective")
    return tuple(out)


def _audience(spec: Spec | None, report: Report) -> m.Audience:
    if spec is None:
        return m.Audience()
    source = spec.get("source", "ledger")
    allowed = {"snapshot": {"month", "where"}, "ledger": {"tiers"}, "list": {"members"}}
    for key in ("month", "where", "tiers", "members"):
        if key in spec.present and key not in allowed.get(source, set()):
            report.error(spec.key_at(key), f"'{key}' does not apply to an audience from {source}"
                                           f" ({source} takes: {', '.join(sorted(allowed[source])) or 'nothing'})")
    if source == "list" and not spec.items("members"):
        report.error(spec.pos, "an audience from a list needs 'members' (member ids)")
    filters = _filters(spec.get("where"), spec.at("where"), report) if source == "snapshot" else ()
    control = spec.get("control")
    return m.Audience(source=source, month=spec.get("month"), filters=filters, tiers=_vals(spec, "tiers"),
                      members=_vals(spec, "members"), control_share=control.get("share") if control else Decimal(0))


def _filters(node, pos: Pos, report: Report) -> tuple[m.Filter, ...]:
    """``where: {tier: [gold, diamond], star_level: {min: 5}}`` over the snapshot's columns."""
    if node is None:
        return ()
    if not isinstance(node, Mapping):
        report.error(pos, "where: expected a mapping of snapshot column to values, e.g. {tier: [gold]}")
        return ()
    out = []
    for entry in node.entries:
        column = entry.key
        kind = m.SNAPSHOT_COLUMNS.get(column) if isinstance(column, str) else None
        if kind is None:
            report.error(entry.key_pos, f"where: unknown snapshot column '{column}'"
                                        f"{did_you_mean(column, m.SNAPSHOT_COLUMNS)}"
                                        f" (columns: {', '.join(sorted(m.SNAPSHOT_COLUMNS))})")
            continue
        value = entry.value
        if isinstance(value, Mapping):
            bounds = {}
            for b in value.entries:
                if b.key not in ("min", "max") or not isinstance(b.value, Scalar):
                    report.error(b.key_pos, f"where: {column} takes min and max, not '{b.key}'")
                    continue
                got = _bound(b.value, kind, column, report)
                if got is not None:
                    bounds[b.key] = got
            if kind == "text":
                report.error(value.pos, f"where: {column} is text: list the values, e.g. {column}: [a, b]")
                continue
            out.append(m.Filter(column, (), bounds.get("min"), bounds.get("max")))
            continue
        items = value.items if isinstance(value, Sequence) else (value,)
        texts = []
        for item in items:
            raw = item.value if isinstance(item, Scalar) else None
            if raw is None or isinstance(raw, (bool, DateText)) or not isinstance(raw, (str, int)):
                report.error(item.pos, f"where: {column} values must be text or numbers")
                continue
            texts.append(str(raw))
        if kind != "text" and texts:
            report.error(value.pos, f"where: {column} is a {kind}: write {{min: ..., max: ...}}")
            continue
        if not texts:
            report.error(value.pos, f"where: {column} needs at least one value")
            continue
        out.append(m.Filter(column, tuple(texts)))
    return tuple(out)


def _bound(node: Scalar, kind: str, column: str, report: Report):
    try:
        value = schema.bound(node.value)
    except BadValue as exc:
        report.error(node.pos, f"where: {column}: {exc}")
        return None
    if (kind == "date") != isinstance(value, date):
        report.error(node.pos, f"where: {column} is a {kind}, got {node.value}")
        return None
    return value


def _budget(spec: Spec, report: Report) -> tuple[m.BudgetLine, ...]:
    out, seen = [], {}
    for item in spec.items("budget"):
        b: Spec = item.value
        line = b.get("line")
        if line is None:
            continue
        if line in seen:
            report.error(b.at("line"), f"budget line '{line}' appears twice (first at {where(seen[line])});"
                                       f" add the amounts into one line")
            continue
        seen[line] = b.at("line")
        if line == "points" and "yuan" in b.present:
            report.error(b.key_at("yuan"), "the points line is planned in points (points: N), valued at the"
                                           " cost per point")
        if line != "points" and "points" in b.present:
            report.error(b.key_at("points"), f"budget line '{line}' is money: write yuan, not points")
        out.append(m.BudgetLine(line, _money(b, "yuan", report), b.get("points"), b.get("note", "")))
    if "budget" in spec.fields and not out and not report.has_errors:
        report.error(spec.at("budget"), "a campaign needs a budget with at least one line")
    return tuple(out)


def _in_window(pos: Pos, day: date, window: m.Window, what: str, report: Report, before_ok: bool = False) -> None:
    if day > window.end or (not before_ok and day < window.start):
        span = f"up to {window.end}" if before_ok else f"{window.start} to {window.end}"
        report.error(pos, f"{what} {day} is outside the campaign window ({span})")


def _milestones(spec: Spec, window: m.Window, report: Report) -> tuple[m.Milestone, ...]:
    unique(spec.items("milestones"), "id", "milestone", report)
    out = []
    for item in spec.items("milestones"):
        s: Spec = item.value
        if None in (s.get("id"), s.get("due")):
            continue
        out.append(m.Milestone(s.get("id"), s.get("name", ""), s.get("owner", ""), s.get("due")))
    return tuple(out)


def _channels(spec: Spec, window: m.Window, report: Report) -> tuple[m.Channel, ...]:
    unique(spec.items("channels"), "id", "channel", report)
    out = []
    for item in spec.items("channels"):
        s: Spec = item.value
        if None in (s.get("id"), s.get("channel"), s.get("send_on")):
            continue
        _in_window(s.at("send_on"), s.get("send_on"), window, "send_on", report, before_ok=True)
        out.append(m.Channel(s.get("id"), s.get("channel"), s.get("template", ""), s.get("send_on"),
                             s.get("to", "treatment")))
    return tuple(out)


def _risks(spec: Spec, report: Report) -> tuple[m.Risk, ...]:
    unique(spec.items("risks"), "id", "risk", report)
    out = []
    for item in spec.items("risks"):
        s: Spec = item.value
        if None in (s.get("id"), s.get("category"), s.get("likelihood"), s.get("impact")):
            continue
        risk = m.Risk(s.get("id"), s.get("category"), s.get("description", ""), s.get("likelihood"),
                      s.get("impact"), s.get("response", ""), s.get("owner", ""))
        if risk.level == "high" and not risk.response:
            report.error(s.pos, f"risk '{risk.id}' is high ({risk.likelihood} x {risk.impact} = {risk.score}):"
                                f" it needs a response")
        out.append(risk)
    return tuple(out)


def _lottery(spec: Spec | None, window: m.Window, report: Report) -> m.Lottery | None:
    if spec is None:
        return None
    unique(spec.items("prizes"), "id", "prize", report)
    prizes = []
    for item in spec.items("prizes"):
        p: Spec = item.value
        if None in (p.get("id"), p.get("per_day")):
            continue
        prizes.append(m.Prize(p.get("id"), p.get("name", ""), p.get("per_day"), _money(p, "value_yuan", report),
                              p.get("points", 0)))
    if "prizes" in spec.fields and not prizes and not report.has_errors:
        report.error(spec.at("prizes"), "a lottery needs at least one prize")
    blanks = spec.get("blanks_per_day", 0)
    stated = spec.get("daily_total")
    total = sum(p.per_day for p in prizes)
    if stated is not None and prizes and stated != total:
        terms = " + ".join(f"{p.id} {p.per_day}" for p in prizes)
        diff = stated - total
        report.error(spec.at("daily_total"),
                     f"daily_total says {stated} prizes a day but the {len(prizes)} prize levels add up to {total}"
                     f" ({terms}): {abs(diff)} {'missing' if diff > 0 else 'too many'};"
                     f" correct a level's per_day or the daily_total")
    chances: Spec = spec.get("chances") or Spec(spec.pos)
    if chances is not None and not ({"per_yuan", "buy_points", "grant"} & chances.present):
        report.error(spec.at("chances"), "chances: say how members get them: per_yuan (spend), buy_points"
                                         " (bought with points) or grant (every audience member)")
    per_yuan = chances.get("per_yuan")
    if per_yuan is not None and fen(per_yuan) != fen(per_yuan).to_integral_value():
        report.error(chances.at("per_yuan"), f"per_yuan {per_yuan} is not a whole number of fen")
    return m.Lottery(tuple(prizes), blanks, stated, per_yuan, chances.get("buy_points"), chances.get("grant", 0),
                     chances.get("max_per_day"), spec.get("budget_line", "gifts"))


def _leaderboard(spec: Spec | None, report: Report) -> m.Leaderboard | None:
    if spec is None:
        return None
    top = spec.get("top", 0)
    rewards, taken = [], {}
    for item in spec.items("rewards"):
        r: Spec = item.value
        if r.get("points") is None:
            continue
        if "rank" in r.fields:
            first = last = r.get("rank")
        else:
            ranks = _vals(r, "ranks")
            if len(ranks) != 2 or ranks[0] > ranks[1]:
                report.error(r.at("ranks"), "ranks: write [first, last], e.g. [2, 3]")
                continue
            first, last = ranks
        if last > top:
            report.error(r.pos, f"rank {last} is below the leaderboard's top {top}")
        for rank in range(first, last + 1):
            if rank in taken:
                report.error(r.pos, f"rank {rank} already has a reward (at {where(taken[rank])})")
                break
            taken[rank] = r.pos
        rewards.append(m.RankReward(first, last, r.get("points")))
    return m.Leaderboard(top, tuple(rewards))


def _referral(spec: Spec | None, report: Report) -> m.Referral | None:
    if spec is None:
        return None
    if not {"referrer_points", "referrer_gift", "referee_points", "referee_gift"} & spec.present:
        report.error(spec.pos, "referral: say what a qualified referral earns: referrer_points, referrer_gift,"
                               " referee_points or referee_gift")
    requires = _vals(spec, "requires") if "requires" in spec.fields else ("registration", "payment")
    return m.Referral(spec.get("referrer_points", 0), spec.get("referee_points", 0), spec.get("referrer_gift"),
                      spec.get("referee_gift"), "registration" in requires, "payment" in requires,
                      spec.get("max_per_referrer"), spec.get("link_base", "https://weixi.local/r/"))


def _streaks(spec: Spec, report: Report) -> tuple[m.StreakReward, ...]:
    out, seen = [], {}
    for item in spec.items("checkin_streaks"):
        s: Spec = item.value
        if s.get("days") is None:
            continue
        if s.get("days") in seen:
            report.error(s.at("days"), f"a streak of {s.get('days')} days is rewarded twice"
                                       f" (first at {where(seen[s.get('days')])})")
            continue
        seen[s.get("days")] = s.at("days")
        out.append(m.StreakReward(s.get("days"), s.get("points")))
    return tuple(sorted(out, key=lambda s: s.days))


def _gifts(spec: Spec, report: Report) -> tuple[m.Gift, ...]:
    unique(spec.items("gifts"), "id", "gift", report)
    out = []
    for item in spec.items("gifts"):
        g: Spec = item.value
        if None in (g.get("id"), g.get("stock")):
            continue
        out.append(m.Gift(g.get("id"), g.get("name", ""), g.get("stock"), g.get("per_member", 1),
                          _money(g, "value_yuan", report)))
    return tuple(out)


def _follow_ups(spec: Spec, report: Report) -> tuple[m.FollowUp, ...]:
    unique(spec.items("follow_ups"), "id", "follow-up", report)
    return tuple(m.FollowUp(f.value.get("id"), f.value.get("who"), f.value.get("action"), f.value.get("due_days"),
                            f.value.get("note", ""))
                 for f in spec.items("follow_ups") if None not in (f.value.get("id"), f.value.get("who"),
                                                                   f.value.get("action"), f.value.get("due_days")))


def _cross_checks(spec: Spec, c: m.Campaign, report: Report) -> None:
    lines = {b.line for b in c.budget}
    prize_points = c.lottery and any(p.points for p in c.lottery.prizes)
    referral_points = c.referral and (c.referral.referrer_points or c.referral.referee_points)
    gives_points = bool(c.points_rules or c.leaderboard or referral_points or c.streaks or prize_points)
    if gives_points and "points" not in lines and "budget" in spec.fields:
        report.error(spec.at("budget"), "the campaign gives points (its rules, prizes, leaderboard, referrals or"
                                        " streaks) but its budget has no points line")
    priced = c.lottery and any(p.value_fen for p in c.lottery.prizes) or any(g.value_fen for g in c.gifts)
    line = c.lottery.budget_line if c.lottery else "gifts"
    if priced and line not in lines and "budget" in spec.fields:
        report.error(spec.at("budget"), f"prizes and gifts have a value but the budget has no '{line}' line")
    gifts = {g.id for g in c.gifts}
    for key in ("referrer_gift", "referee_gift"):
        ref = spec.get("referral")
        if ref is not None and ref.get(key) is not None and ref.get(key) not in gifts:
            report.error(ref.at(key), f"{key}: unknown gift '{ref.get(key)}'{did_you_mean(ref.get(key), gifts)}"
                                      f" (gifts: {', '.join(sorted(gifts)) or 'none'})")
    metrics = {o.metric for o in c.objectives}
    if "referrals" in metrics and c.referral is None:
        pos = next(o.value.at("metric") for o in spec.items("objectives") if o.value.get("metric") == "referrals")
        report.error(pos, "objective on referrals, but the campaign has no 'referral' section")
    if c.follow_ups and any(f.who == "winners" for f in c.follow_ups) and c.lottery is None:
        report.error(spec.at("follow_ups"), "a follow-up for winners needs a lottery")
    for ms in spec.items("milestones"):
        due = ms.value.get("due")
        if due is not None and due > c.window.end:
            report.warning(ms.value.at("due"), f"milestone due {due} after the window ends ({c.window.end})")
    if c.lottery and c.lottery.budget_line and c.lottery.budget_line == "points":
        report.error(spec.get("lottery").at("budget_line"), "a lottery's prizes are charged to a money line")


register(PlanKind(("campaign",), load_campaign, m.Campaign))
