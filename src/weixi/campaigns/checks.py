"""The campaign checker's checks on gifts: their limits, a gift that is itself a ticket (a scratch card, 刮刮卡)
whose prize table must give the stated win rate, the money the gifts and prizes need against their budget line,
and a window already over. Pure; called by :mod:`weixi.campaigns.loader` and, for the window, with today's date
by :func:`weixi.campaigns.store.check`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from weixi.campaigns import model as m
from weixi.plans.checks import fen, unique
from weixi.plans.diagnostics import Diagnostic, Report
from weixi.plans.spec import Spec


def money(spec: Spec, key: str, report: Report) -> int:
    """``key``'s yuan as whole fen (0 when absent); a fraction of a fen is an error."""
    yuan = spec.get(key)
    if yuan is None:
        return 0
    value = fen(yuan)
    if value != value.to_integral_value():
        report.error(spec.at(key), "plan_not_whole_fen", key=key, yuan=yuan)
        return 0
    return int(value)


def gifts(spec: Spec, report: Report) -> tuple[m.Gift, ...]:
    unique(spec.items("gifts"), "id", "gift", report)
    out = []
    for item in spec.items("gifts"):
        g: Spec = item.value
        if None in (g.get("id"), g.get("stock")):
            continue
        gift = m.Gift(
            g.get("id"),
            g.get("name", ""),
            g.get("stock"),
            g.get("per_member") if "per_member" in g.fields else 1,
            money(g, "value_yuan", report),
            g.get("per_key_client"),
            g.get("per_visit"),
            g.get("win_rate"),
            _card_prizes(g, report),
        )
        if gift.per_key_client is not None and not spec.items("key_clients"):
            report.error(g.key_at("per_key_client"), "campaign_plan_key_clients_missing", gift=gift.id)
        if None not in (gift.per_visit, gift.per_member) and gift.per_visit > gift.per_member:
            report.error(
                g.at("per_visit"),
                "campaign_plan_visit_over_member",
                gift=gift.id,
                per_visit=gift.per_visit,
                per_member=gift.per_member,
            )
        _win_rate(g, gift, report)
        out.append(gift)
    return tuple(out)


def _card_prizes(g: Spec, report: Report) -> tuple[m.CardPrize, ...]:
    unique(g.items("prizes"), "id", "card prize", report)
    return tuple(
        m.CardPrize(
            p.value.get("id"),
            p.value.get("name", ""),
            p.value.get("count"),
            money(p.value, "value_yuan", report),
            p.value.get("funded_by", "operator"),
        )
        for p in g.items("prizes")
        if None not in (p.value.get("id"), p.value.get("count"))
    )


def _win_rate(g: Spec, gift: m.Gift, report: Report) -> None:
    """The prize table decides the win rate: winning cards / cards printed must be the rate the file states."""
    if gift.prizes and gift.winning > gift.stock:
        report.error(
            g.at("prizes"), "campaign_plan_card_prizes_over_stock", gift=gift.id, winning=gift.winning, stock=gift.stock
        )
        return
    if gift.win_rate is None:
        return
    if not gift.prizes:
        report.error(g.key_at("win_rate"), "campaign_plan_win_rate_needs_prizes", gift=gift.id)
        return
    actual = Decimal(gift.winning) / Decimal(gift.stock)
    if actual != gift.win_rate:
        report.error(
            g.at("win_rate"),
            "campaign_plan_card_win_rate",
            gift=gift.id,
            stated=gift.win_rate,
            winning=gift.winning,
            stock=gift.stock,
            actual=format(actual.quantize(Decimal("0.0001")).normalize(), "f"),
            needed=format((gift.win_rate * gift.stock).normalize(), "f"),
        )


def gift_budget(spec: Spec, c: m.Campaign, report: Report) -> None:
    """What the gifts are bought for (stock x value, and the prizes the operator funds on its cards) must fit the
    gifts line: the stock is bought before the campaign. (A lottery's prizes are not summed here: a box that is not
    emptied does not cost its whole table.)"""
    need: dict[str, list[tuple[str, int]]] = {}
    for g in c.gifts:
        if g.value_fen:
            need.setdefault("gifts", []).append((f"{g.id} {g.stock} x {_yuan(g.value_fen)}", g.stock * g.value_fen))
        for p in g.prizes:
            if p.funded_by == "operator" and p.value_fen:
                need.setdefault("gifts", []).append((f"{p.id} {p.count} x {_yuan(p.value_fen)}", p.count * p.value_fen))
    lines = {b.value.get("line"): b.value for b in spec.items("budget")}
    for b in c.budget:
        terms = need.get(b.line)
        total = sum(fen_ for _, fen_ in terms or ())
        if terms and total > b.fen:
            report.error(
                lines[b.line].at("yuan"),
                "campaign_plan_line_short",
                line=b.line,
                planned=_yuan(b.fen),
                needed=_yuan(total),
                terms=" + ".join(t for t, _ in terms),
            )


def _yuan(fen_: int) -> str:
    return f"{Decimal(fen_) / 100:.2f}"


def window_past(c: m.Campaign, today: date) -> Diagnostic | None:
    """A campaign whose window ended before ``today`` (in its timezone) cannot be run: an error at ``window.to``."""
    if c.window.end >= today:
        return None
    line, column = c.window_end_at
    params = {"campaign": c.id, "end": c.window.end, "today": today}
    return Diagnostic(c.source, line, column, "error", "campaign_plan_window_past", params)
