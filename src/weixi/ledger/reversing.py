"""Refunds and reversals in the :class:`~weixi.ledger.book.Book`: a refund takes back what its event earned (in
proportion to the amount refunded), from the event's own lot first and then as the plan's reversal policy says
(claw back from other lots, go negative, or record a debt). Pure: no I/O."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from weixi.ledger.events import Event
from weixi.ledger.journal import Entry, Rejected
from weixi.ledger.lots import plan_consumption
from weixi.ledger.state import MemberState
from weixi.plans.model import ReversalPolicy


class Reversing:
    """The refund rules of :class:`~weixi.ledger.book.Book` (a mixin: it uses the book's state, counters,
    lots and journal)."""

    def _on_refund(self, ev: Event, member: MemberState) -> None:
        src = self.s.sources.get(ev.ref)
        if src is None:
            raise Rejected("refund_unknown_event", "ref", event=ev.ref)
        if src.member_id != member.member_id:
            raise Rejected("refund_other_member", "ref", event=ev.ref, owner=src.member_id, member=member.member_id)
        if src.type == "redeem":
            raise Rejected("refund_of_redemption", "ref", event=ev.ref)
        if src.type in ("refund", "adjust"):
            raise Rejected("refund_not_refundable", "ref", event=ev.ref, type=src.type)
        if ev.day < src.day:
            raise Rejected("refund_before_event", "occurred_at", day=ev.day, event_day=src.day)
        reversed_pts = self._counter(member.member_id, "reversed:" + src.event_id, "E")
        refunded = self._counter(member.member_id, "refunded_fen:" + src.event_id, "E")
        left = src.earned - reversed_pts
        if ev.amount_fen is None or src.amount_fen is None:
            if reversed_pts and left <= 0:
                raise Rejected("already_reversed", "ref", event=src.event_id)
            points = left
        else:
            if refunded + ev.amount_fen > src.amount_fen:
                raise Rejected(
                    "refund_over_amount",
                    "amount",
                    event=src.event_id,
                    total=Decimal(refunded + ev.amount_fen) / 100,
                    amount=Decimal(src.amount_fen) / 100,
                )
            if refunded + ev.amount_fen == src.amount_fen:
                points = left
            else:
                share = Decimal(src.earned * ev.amount_fen) / src.amount_fen
                points = min(left, int(share.to_integral_value(rounding=ROUND_HALF_UP)))
            self._count(member.member_id, "refunded_fen:" + src.event_id, ev.day, ev.amount_fen, periods=("ever",))
        self._count(member.member_id, "reversed:" + src.event_id, ev.day, points, periods=("ever",))
        if points > 0:
            self.reverse_points(member, src.event_id, points, ev.day, ev.event_id)

    def reverse_points(self, member: MemberState, lot_id: str, points: int, day: date, event_id: str) -> None:
        lots = self._lots(member.member_id)
        own = next((l for l in lots if l.id == lot_id), None)
        take = min(own.remaining, points) if own is not None else 0
        if take:
            self._entry(
                member,
                Entry(
                    member.member_id,
                    "reverse",
                    -take,
                    day,
                    event_id,
                    rule_id=None,
                    note=f"reverses points earned by {lot_id}",
                ),
                own,
            )
        short = points - take
        if short <= 0:
            return
        policy = self.plan.reversal_policy
        if policy is ReversalPolicy.CLAWBACK:
            taken, rest = plan_consumption(lots, short, day, self.plan.consumption_order, lot_id, self.today)
            for lot, n in taken:
                self._entry(
                    member,
                    Entry(
                        member.member_id,
                        "clawback",
                        -n,
                        day,
                        event_id,
                        note=f"{lot_id}'s points were already spent: clawed back from lot {lot.id}",
                    ),
                    lot,
                )
            if rest:
                self._entry(
                    member,
                    Entry(
                        member.member_id,
                        "debt",
                        0,
                        day,
                        event_id,
                        debt_delta=rest,
                        note=f"clawback short by {rest}: recorded as points debt",
                    ),
                )
        elif policy is ReversalPolicy.NEGATIVE:
            deficit = next((l for l in lots if l.deficit), None)
            if deficit is None:
                deficit = self._new_lot(member, "deficit:" + member.member_id, day, 0, None)
                deficit.expires_on = None
                deficit.deficit = True
            self._entry(
                member,
                Entry(
                    member.member_id,
                    "deficit",
                    -short,
                    day,
                    event_id,
                    note=f"{lot_id}'s points were already spent: balance goes negative",
                ),
                deficit,
            )
        else:
            self._entry(
                member,
                Entry(
                    member.member_id,
                    "debt",
                    0,
                    day,
                    event_id,
                    debt_delta=short,
                    note=f"{lot_id}'s points were already spent: recorded as points debt",
                ),
            )
