"""Lift against the control group with a confidence interval, and the return on the campaign's cost.

Exact arithmetic: the per-group count, sum and sum of squares come from SQL as integers (fen, or 0/1 for a
rate) and everything here is :class:`~decimal.Decimal`. The interval is Welch's difference of means with the
normal quantile 1.96 (95%); with fewer than 30 members in a group the report says the interval is unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

Z95 = Decimal("1.959963984540054")
SMALL = 30


@dataclass(frozen=True)
class Group:
    n: int
    total: int  # sum of the per-member outcome (fen, or members for a rate)
    squares: int  # sum of squares of the per-member outcome

    @property
    def mean(self) -> Decimal:
        return Decimal(self.total) / self.n if self.n else Decimal(0)

    @property
    def variance(self) -> Decimal:
        if self.n < 2:
            return Decimal(0)
        return (Decimal(self.squares) - Decimal(self.total) ** 2 / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Lift:
    treatment: Group
    control: Group
    difference: Decimal  # mean per member, treatment minus control (fen, or a share)
    low: Decimal | None  # 95% interval; None without a control group
    high: Decimal | None
    relative: Decimal | None  # difference / control mean
    note: str = ""

    @property
    def significant(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)


def lift(treatment: Group, control: Group) -> Lift:
    with localcontext() as ctx:
        ctx.prec = 34
        diff = treatment.mean - control.mean
        if treatment.n == 0 or control.n == 0:
            return Lift(
                treatment,
                control,
                diff,
                None,
                None,
                None,
                "no control group: the lift cannot be measured" if control.n == 0 else "no treatment group",
            )
        se = (treatment.variance / treatment.n + control.variance / control.n).sqrt()
        relative = diff / control.mean if control.mean else None
        note = ""
        if min(treatment.n, control.n) < SMALL:
            note = f"fewer than {SMALL} members in a group: the interval is unreliable"
        return Lift(treatment, control, diff, diff - Z95 * se, diff + Z95 * se, relative, note)


@dataclass(frozen=True)
class Roi:
    incremental_fen: Decimal  # incremental sales over the treatment group
    margin_fen: Decimal
    cost_fen: int
    roi: Decimal | None  # (margin - cost) / cost
    low: Decimal | None
    high: Decimal | None
    note: str = ""


def roi(result: Lift, outcome: str, margin_share: Decimal, cost_fen: int) -> Roi:
    """Return on cost from the lift in spend: (incremental sales x margin share - cost) / cost."""
    if outcome != "spend":
        return Roi(
            Decimal(0),
            Decimal(0),
            cost_fen,
            None,
            None,
            None,
            "the outcome is activity, not money: no ROI (evaluate with outcome: spend for one)",
        )
    n = result.treatment.n
    inc = result.difference * n
    margin = inc * margin_share
    if cost_fen <= 0:
        return Roi(inc, margin, cost_fen, None, None, None, "no cost recorded: ROI undefined")

    def r(margin_value: Decimal) -> Decimal:
        return (margin_value - cost_fen) / cost_fen

    low = high = None
    if result.low is not None:
        low, high = r(result.low * n * margin_share), r(result.high * n * margin_share)
    return Roi(inc, margin, cost_fen, r(margin), low, high, result.note)
