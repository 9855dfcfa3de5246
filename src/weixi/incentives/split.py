"""Commission splits between shifts (seed 002, 康乐部会员维护方案).

A member is maintained by A. When the member pays on B's shift: a timed-card renewal or purchase is
shared by A and B; a stored-value top-up is A's alone. Interns maintain timed-card members only. When
both shifts are on duty for a new member, timed cards go to the morning shift and stored value to the evening.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from weixi.incentives import amounts
from weixi.incentives.model import SplitTerms

HALF = Decimal("0.5")


@dataclass(frozen=True)
class Share:
    staff_id: str
    txn_id: str
    base_yuan: Decimal  # the part of the amount credited to this staff member
    commission_yuan: Decimal | None
    text: str


def split(
    terms: SplitTerms,
    plan_id: str,
    txn_id: str,
    card: str,
    amount: Decimal,
    maintainer: str,
    on_shift: str,
    maintainer_role: str | None = None,
) -> tuple[list[Share], str | None]:
    """The shares of one payment, or ``([], reason)`` when the plan does not credit it."""
    rule = terms.card(card)
    if rule is None:
        return [], f"card type {card} is not in plan {plan_id}"
    if maintainer_role == "intern" and card not in terms.intern_cards:
        return [], (
            f"maintainer {maintainer} is an intern; interns maintain only "
            f"{', '.join(terms.intern_cards)} members (实习生只能分配记时卡会员维护指标)"
        )
    if maintainer == on_shift:
        parts = [(maintainer, Decimal(1), "maintainer on own shift")]
    elif rule.other_shift == "shared":
        parts = [(maintainer, HALF, "maintainer"), (on_shift, HALF, "staff on shift")]
    else:
        parts = [(maintainer, Decimal(1), f"maintainer; {on_shift} on shift earns nothing for {rule.name}")]
    shares = []
    for staff, part, why in parts:
        base = (amount * part).quantize(Decimal("0.01"))
        commission = (
            None if terms.commission_rate is None else (base * terms.commission_rate / 100).quantize(Decimal("0.01"))
        )
        money = f", commission {amounts.yuan(commission)} yuan" if commission is not None else ""
        shares.append(
            Share(
                staff,
                txn_id,
                base,
                commission,
                f"payment {txn_id} ({rule.name}, {amounts.yuan(amount)} yuan, maintained by {maintainer},"
                f" on {on_shift}'s shift): {amounts.units(part * 100)}% as {why} ="
                f" {amounts.yuan(base)} yuan base{money} [plan {plan_id}/{card}]",
            )
        )
    return shares, None


def new_member_shift(terms: SplitTerms, card: str) -> str | None:
    """Which shift maintains a new member of ``card`` when both shifts are on duty (None: the one who sold)."""
    return terms.both_shifts.get(card)
