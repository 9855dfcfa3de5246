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
from weixi.campaigns.checks import gift_budget, gifts, money, window_past
from weixi.plans.checks import fen, unique
from weixi.plans.diagnostics import Diagnostic, Pos, Report
from weixi.plans.kinds import PlanKind, register
from weixi.plans.spec import Spec, read
from weixi.plans.values import BadValue, suggested
from weixi.plans.yaml_source import DateText, Mapping, Scalar, Sequence
from weixi.settings import DEFAULT_TIMEZONE


def load_campaign(node: Mapping, filename: str) -> tuple[m.Campaign | None, list[Diagnostic]]:
    report = Report(filename)
    val = read(node, schema.CAMPAIGN, report)
    campaign = resolve(val.value, filename, report)
    found = sorted(report.items, key=Diagnostic.sort_key)
    return (None if report.has_errors else campaign), found


def _vals(spec: Spec, key: str) -> tuple:
    return tuple(x.value for x in spec.items(key))


def resolve(spec: Spec, filename: str, report: Report) -> m.Campaign | None:
    win = spec.get("window")
    if win is None or win.get("from") is None or win.get("to") is None:
        return None
    window = m.Window(win.get("from"), win.get("to"))
    if window.end < window.start:
        report.error(win.at("to"), "plan_window_reversed", end=window.end, start=window.start)
        return None
    campaign = m.Campaign(
        id=spec.get("campaign", ""),
        name=spec.get("name", ""),
        window=window,
        description=spec.get("description", ""),
        owner=spec.get("owner", ""),
        timezone=spec.get("timezone", DEFAULT_TIMEZONE),
        objectives=_objectives(spec, report),
        audience=_audience(spec.get("audience"), report),
        budget=_budget(spec, report),
        cost_per_point=spec.get("cost_per_point"),
        points_rules=_vals(spec, "points_rules"),
        milestones=_milestones(spec, window, report),
        channels=_channels(spec, window, report),
        risks=_risks(spec, report),
        lottery=_lottery(spec.get("lottery"), window, report),
        leaderboard=_leaderboard(spec.get("leaderboard"), report),
        referral=_referral(spec.get("referral"), report),
        streaks=_streaks(spec, report),
        gifts=gifts(spec, report),
        follow_ups=_follow_ups(spec, report),
        key_clients=_vals(spec, "key_clients"),
        window_end_at=(win.at("to").line, win.at("to").column),
        outcome=(spec.get("evaluation") or Spec(Pos())).get("outcome", "spend"),
        margin_share=(spec.get("evaluation") or Spec(Pos())).get("margin_share", Decimal(1)),
        source=filename,
    )
    _cross_checks(spec, campaign, report)
    gift_budget(spec, campaign, report)
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
            report.error(o.at("target"), "campaign_plan_rate_target", target=target, share=(target / 100).normalize())
        if (
            metric in ("participants", "referrals", "new_members", "points_issued", "points_redeemed")
            and target != target.to_integral_value()
        ):
            report.error(o.at("target"), "campaign_plan_target_not_whole", target=target, metric=metric)
        out.append(m.Objective(o.get("id"), o.get("name", o.get("id")), metric, target))
    if "objectives" in spec.fields and not out and not report.has_errors:
        report.error(spec.at("objectives"), "campaign_plan_no_objective")
    return tuple(out)


def _audience(spec: Spec | None, report: Report) -> m.Audience:
    if spec is None:
        return m.Audience()
    source = spec.get("source", "ledger")
    allowed = {"snapshot": {"month", "where"}, "ledger": {"tiers"}, "list": {"members"}}
    for key in ("month", "where", "tiers", "members"):
        if key in spec.present and key not in allowed.get(source, set()):
            takes = sorted(allowed[source])
            code = "campaign_plan_audience_key" if takes else "campaign_plan_audience_key_none"
            report.error(spec.key_at(key), code, key=key, source=source, takes=takes)
    if source == "list" and not spec.items("members"):
        report.error(spec.pos, "campaign_plan_list_needs_members")
    filters = _filters(spec.get("where"), spec.at("where"), report) if source == "snapshot" else ()
    control = spec.get("control")
    return m.Audience(
        source=source,
        month=spec.get("month"),
        filters=filters,
        tiers=_vals(spec, "tiers"),
        members=_vals(spec, "members"),
        control_share=control.get("share") if control else Decimal(0),
    )


def _filters(node, pos: Pos, report: Report) -> tuple[m.Filter, ...]:
    """``where: {tier: [gold, diamond], star_level: {min: 5}}`` over the snapshot's columns."""
    if node is None:
        return ()
    if not isinstance(node, Mapping):
        report.error(pos, "campaign_plan_where_form")
        return ()
    out = []
    for entry in node.entries:
        column = entry.key
        kind = m.SNAPSHOT_COLUMNS.get(column) if isinstance(column, str) else None
        if kind is None:
            code, hint = suggested("campaign_plan_unknown_column", column, m.SNAPSHOT_COLUMNS)
            report.error(entry.key_pos, code, column=column, columns=sorted(m.SNAPSHOT_COLUMNS), **hint)
            continue
        value = entry.value
        if isinstance(value, Mapping):
            bounds = {}
            for b in value.entries:
                if b.key not in ("min", "max") or not isinstance(b.value, Scalar):
                    report.error(b.key_pos, "campaign_plan_bound_key", column=column, key=b.key)
                    continue
                got = _bound(b.value, kind, column, report)
                if got is not None:
                    bounds[b.key] = got
            if kind == "text":
                report.error(value.pos, "campaign_plan_text_column_values", column=column)
                continue
            out.append(m.Filter(column, (), bounds.get("min"), bounds.get("max")))
            continue
        items = value.items if isinstance(value, Sequence) else (value,)
        texts = []
        for item in items:
            raw = item.value if isinstance(item, Scalar) else None
            if raw is None or isinstance(raw, (bool, DateText)) or not isinstance(raw, (str, int)):
                report.error(item.pos, "campaign_plan_where_value_type", column=column)
                continue
            texts.append(str(raw))
        if kind != "text" and texts:
            report.error(value.pos, "campaign_plan_range_column_values", column=column, kind=kind)
            continue
        if not texts:
            report.error(value.pos, "campaign_plan_where_no_values", column=column)
            continue
        out.append(m.Filter(column, tuple(texts)))
    return tuple(out)


def _bound(node: Scalar, kind: str, column: str, report: Report):
    try:
        value = schema.bound(node.value)
    except BadValue as exc:
        report.error(node.pos, exc.code, key=f"where: {column}", **exc.params)  # the column as the value's key
        return None
    if (kind == "date") != isinstance(value, date):
        report.error(node.pos, "campaign_plan_bound_kind", column=column, kind=kind, value=node.value)
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
            report.error(
                b.at("line"),
                "campaign_plan_budget_line_twice",
                line=line,
                first_line=seen[line].line,
                first_column=seen[line].column,
            )
            continue
        seen[line] = b.at("line")
        if line == "points" and "yuan" in b.present:
            report.error(b.key_at("yuan"), "campaign_plan_points_line_in_points")
        if line != "points" and "points" in b.present:
            report.error(b.key_at("points"), "campaign_plan_money_line_points", line=line)
        out.append(m.BudgetLine(line, money(b, "yuan", report), b.get("points"), b.get("note", "")))
    if "budget" in spec.fields and not out and not report.has_errors:
        report.error(spec.at("budget"), "campaign_plan_no_budget")
    return tuple(out)


def _in_window(pos: Pos, day: date, window: m.Window, what: str, report: Report, before_ok: bool = False) -> None:
    if day > window.end or (not before_ok and day < window.start):
        code = "campaign_plan_after_window" if before_ok else "campaign_plan_outside_window"
        report.error(pos, code, what=what, day=day, start=window.start, end=window.end)


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
        out.append(
            m.Channel(s.get("id"), s.get("channel"), s.get("template", ""), s.get("send_on"), s.get("to", "treatment"))
        )
    return tuple(out)


def _risks(spec: Spec, report: Report) -> tuple[m.Risk, ...]:
    unique(spec.items("risks"), "id", "risk", report)
    out = []
    for item in spec.items("risks"):
        s: Spec = item.value
        if None in (s.get("id"), s.get("category"), s.get("likelihood"), s.get("impact")):
            continue
        risk = m.Risk(
            s.get("id"),
            s.get("category"),
            s.get("description", ""),
            s.get("likelihood"),
            s.get("impact"),
            s.get("response", ""),
            s.get("owner", ""),
        )
        if risk.level == "high" and not risk.response:
            report.error(
                s.pos,
                "campaign_plan_risk_needs_response",
                risk=risk.id,
                likelihood=risk.likelihood,
                impact=risk.impact,
                score=risk.score,
            )
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
        prizes.append(
            m.Prize(
                p.get("id"), p.get("name", ""), p.get("per_day"), money(p, "value_yuan", report), p.get("points", 0)
            )
        )
    if "prizes" in spec.fields and not prizes and not report.has_errors:
        report.error(spec.at("prizes"), "campaign_plan_no_prizes")
    blanks = spec.get("blanks_per_day", 0)
    stated = spec.get("daily_total")
    total = sum(p.per_day for p in prizes)
    if stated is not None and prizes and stated != total:
        terms = " + ".join(f"{p.id} {p.per_day}" for p in prizes)
        diff = stated - total
        code = "campaign_plan_daily_total_missing" if diff > 0 else "campaign_plan_daily_total_extra"
        report.error(
            spec.at("daily_total"), code, stated=stated, levels=len(prizes), total=total, terms=terms, diff=abs(diff)
        )
    chances: Spec = spec.get("chances") or Spec(spec.pos)
    if chances is not None and not ({"per_yuan", "buy_points", "grant"} & chances.present):
        report.error(spec.at("chances"), "campaign_plan_chances_source")
    per_yuan = chances.get("per_yuan")
    if per_yuan is not None and fen(per_yuan) != fen(per_yuan).to_integral_value():
        report.error(chances.at("per_yuan"), "campaign_plan_per_yuan_fen", value=per_yuan)
    hours = spec.get("hours")
    if hours is not None and None not in (hours.get("from"), hours.get("to")) and hours.get("from") >= hours.get("to"):
        start, end = (hours.get(k).strftime("%H:%M") for k in ("from", "to"))
        report.error(hours.at("to"), "campaign_plan_hours_reversed", start=start, end=end)
    return m.Lottery(
        tuple(prizes),
        blanks,
        stated,
        per_yuan,
        chances.get("buy_points"),
        chances.get("grant", 0),
        chances.get("max_per_day"),
        spec.get("budget_line", "gifts"),
        (hours.get("from"), hours.get("to")) if hours is not None else None,
    )


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
                report.error(r.at("ranks"), "campaign_plan_ranks_pair")
                continue
            first, last = ranks
        if last > top:
            report.error(r.pos, "campaign_plan_rank_below_top", rank=last, top=top)
        for rank in range(first, last + 1):
            if rank in taken:
                report.error(
                    r.pos, "campaign_plan_rank_taken", rank=rank, line=taken[rank].line, column=taken[rank].column
                )
                break
            taken[rank] = r.pos
        rewards.append(m.RankReward(first, last, r.get("points")))
    return m.Leaderboard(top, tuple(rewards))


def _referral(spec: Spec | None, report: Report) -> m.Referral | None:
    if spec is None:
        return None
    if not {"referrer_points", "referrer_gift", "referee_points", "referee_gift"} & spec.present:
        report.error(spec.pos, "campaign_plan_referral_reward")
    requires = _vals(spec, "requires") if "requires" in spec.fields else ("registration", "payment")
    return m.Referral(
        spec.get("referrer_points", 0),
        spec.get("referee_points", 0),
        spec.get("referrer_gift"),
        spec.get("referee_gift"),
        "registration" in requires,
        "payment" in requires,
        spec.get("max_per_referrer"),
        spec.get("link_base", "https://weixi.local/r/"),
    )


def _streaks(spec: Spec, report: Report) -> tuple[m.StreakReward, ...]:
    out, seen = [], {}
    for item in spec.items("checkin_streaks"):
        s: Spec = item.value
        if s.get("days") is None:
            continue
        if s.get("days") in seen:
            first = seen[s.get("days")]
            report.error(
                s.at("days"), "campaign_plan_streak_twice", days=s.get("days"), line=first.line, column=first.column
            )
            continue
        seen[s.get("days")] = s.at("days")
        out.append(m.StreakReward(s.get("days"), s.get("points")))
    return tuple(sorted(out, key=lambda s: s.days))


def _follow_ups(spec: Spec, report: Report) -> tuple[m.FollowUp, ...]:
    unique(spec.items("follow_ups"), "id", "follow-up", report)
    return tuple(
        m.FollowUp(
            f.value.get("id"),
            f.value.get("who"),
            f.value.get("action"),
            f.value.get("due_days"),
            f.value.get("note", ""),
        )
        for f in spec.items("follow_ups")
        if None not in (f.value.get("id"), f.value.get("who"), f.value.get("action"), f.value.get("due_days"))
    )


def _cross_checks(spec: Spec, c: m.Campaign, report: Report) -> None:
    lines = {b.line for b in c.budget}
    prize_points = c.lottery and any(p.points for p in c.lottery.prizes)
    referral_points = c.referral and (c.referral.referrer_points or c.referral.referee_points)
    gives_points = bool(c.points_rules or c.leaderboard or referral_points or c.streaks or prize_points)
    if gives_points and "points" not in lines and "budget" in spec.fields:
        report.error(spec.at("budget"), "campaign_plan_no_points_line")
    priced = c.lottery and any(p.value_fen for p in c.lottery.prizes) or any(g.value_fen for g in c.gifts)
    line = c.lottery.budget_line if c.lottery else "gifts"
    if priced and line not in lines and "budget" in spec.fields:
        report.error(spec.at("budget"), "campaign_plan_no_money_line", line=line)
    gifts = {g.id for g in c.gifts}
    for key in ("referrer_gift", "referee_gift"):
        ref = spec.get("referral")
        if ref is not None and ref.get(key) is not None and ref.get(key) not in gifts:
            code, hint = (
                suggested("campaign_plan_unknown_gift", ref.get(key), gifts)
                if gifts
                else ("campaign_plan_unknown_gift_none", {})
            )
            report.error(ref.at(key), code, key=key, gift=ref.get(key), gifts=sorted(gifts), **hint)
    metrics = {o.metric for o in c.objectives}
    if "referrals" in metrics and c.referral is None:
        pos = next(o.value.at("metric") for o in spec.items("objectives") if o.value.get("metric") == "referrals")
        report.error(pos, "campaign_plan_referral_objective")
    if c.follow_ups and any(f.who == "winners" for f in c.follow_ups) and c.lottery is None:
        report.error(spec.at("follow_ups"), "campaign_plan_winners_need_lottery")
    for ms in spec.items("milestones"):
        due = ms.value.get("due")
        if due is not None and due > c.window.end:
            report.warning(ms.value.at("due"), "campaign_plan_milestone_after_window", due=due, end=c.window.end)
    if c.lottery and c.lottery.budget_line and c.lottery.budget_line == "points":
        report.error(spec.get("lottery").at("budget_line"), "campaign_plan_lottery_points_line")


__all__ = ["load_campaign", "resolve", "window_past"]

register(PlanKind(("campaign",), load_campaign, m.Campaign))
