"""The ledger's rules, applied to one event at a time, in memory.

A :class:`Book` is loaded by the service layer with the state the events of a batch need (members,
counters, lots, source events, referrals, reward stock), applies events one by one and collects the
changes to write. It does no I/O. Every event is checked completely before anything is changed, so
a rejected event leaves no trace.
"""

from __future__ import annotations

import copy
import secrets
from datetime import date, timedelta

from weixi.ledger import earning, redeeming, referral_rules
from weixi.ledger.events import Event
from weixi.ledger.expiry import expires_on
from weixi.ledger.journal import BookState, Changes, Entry, Redemption, Rejected, RequestReused
from weixi.ledger.lots import Lot, plan_consumption, usable_points
from weixi.ledger.requests import event_fingerprint
from weixi.ledger.reversing import Reversing
from weixi.ledger.state import MemberState, Referral, SourceEvent, period_key
from weixi.plans.model import Plan, ReferralRule

__all__ = ["Book", "BookState", "Changes", "Entry", "Redemption", "Rejected", "RequestReused"]  # the book's types

ACTIONS = ("survey", "review", "share", "activity")


class Book(Reversing):
    random_bytes = staticmethod(secrets.token_bytes)  # where coupon codes get their randomness

    def __init__(self, plan: Plan, plan_version: int | None, state: BookState | None = None, today: date | None = None):
        self.plan = plan
        self.version = plan_version
        self.s = state or BookState()
        self.today = today  # the ledger's today: no spend, however dated, takes points expired by then
        self.changes = Changes()
        self.earned: dict[str, int] = {}  # points earned per event id in this book
        self._new_lot_ids: set[str] = set()

    # --- public -----------------------------------------------------------------------------

    def post(self, ev: Event) -> str | None:
        """Apply one event. Returns None when posted, ``"duplicate"``, or raises :class:`Rejected`.

        The outcome of an event id is final: a repeat of a posted event is a duplicate, a repeat of a rejected
        one is rejected again with the first reason, whatever the balance is now. A keyed request (a redeem with a
        ``request_id``) sent again with another body raises :class:`RequestReused` and changes nothing.
        """
        asked, first = event_fingerprint(ev), self.s.keys.get(ev.event_id)
        if first is not None and first != asked:  # one key, one request: another member or body is refused
            raise RequestReused()
        if ev.event_id in self.s.seen:
            return "duplicate"
        if ev.event_id in self.s.rejected:  # an event id has one outcome: a retry is rejected the same way
            raise Rejected.of(self.s.rejected[ev.event_id])
        known = self.s.members.get(ev.member_id)
        before = copy.copy(known) if known is not None else None
        try:
            member = self._member_for(ev)
            handler = getattr(self, "_on_" + ("action" if ev.type in ACTIONS else ev.type))
            handler(ev, member)
        except Rejected as err:
            self.s.rejected[ev.event_id] = err.problem
            self.changes.rejections.append((ev, err))
            if asked is not None:
                self.s.keys[ev.event_id] = asked
            if known is None:  # a member first seen in a rejected event is not created
                self.s.members.pop(ev.member_id, None)
                self.s.lots.pop(ev.member_id, None)
            else:
                self.s.members[ev.member_id] = before
            raise
        self.s.seen.add(ev.event_id)
        if asked is not None:
            self.s.keys[ev.event_id] = asked
        self.changes.events.append(ev)
        self.s.sources[ev.event_id] = SourceEvent(
            ev.event_id, ev.member_id, ev.type, ev.day, ev.amount_fen, self.earned.get(ev.event_id, 0)
        )
        return None

    def cancel_redemption(self, redemption: Redemption, taken: list[tuple[str, int]], day: date, reason: str) -> None:
        """Return a redemption's points to the very lots they came from, and its units to stock."""
        member = self.s.members[redemption.member_id]
        lots = {lot.id: lot for lot in self._lots(member.member_id)}
        for lot_id, points in taken:
            self._entry(
                member,
                Entry(
                    member.member_id,
                    "cancel",
                    points,
                    day,
                    redemption.id,
                    lot_id,
                    note=f"redemption {redemption.id} cancelled: {reason}",
                ),
                lots[lot_id],
            )
        stock = self.s.stock.get(redemption.reward_id)
        if stock is not None:
            stock.issued -= redemption.qty
            stock.dirty = True
        self._count(
            member.member_id,
            "rw:" + redemption.reward_id,
            redemption.day,
            -redemption.qty,
            periods=("day", "month", "ever"),
        )

    # --- members ----------------------------------------------------------------------------

    def _member_for(self, ev: Event) -> MemberState:
        member = self.s.members.get(ev.member_id)
        if self.plan.registration_required and ev.type != "signup" and (member is None or member.signed_up_on is None):
            raise Rejected("not_signed_up", member=ev.member_id)
        tier = ev.attrs.get("tier")
        if tier is not None and self.plan.tiers and self.plan.tier(str(tier)) is None:
            raise Rejected("unknown_tier", "attrs", tier=tier)
        if member is None:
            member = MemberState(ev.member_id, first_seen_on=ev.day, new=True)
            self.s.members[ev.member_id] = member
            self.s.lots.setdefault(ev.member_id, [])
        if tier is not None and member.tier != str(tier):
            member.tier = str(tier)
            member.dirty = True
        return member

    def _lots(self, member_id: str) -> list[Lot]:
        try:
            return self.s.lots[member_id]
        except KeyError:
            raise RuntimeError(f"lots of member {member_id} were not loaded") from None

    def _loaded_lots(self, member_id: str) -> list[Lot]:
        """The member's lots if loaded; members whose lots are not loaded only earn in this batch and owe nothing."""
        return self.s.lots.get(member_id, [])

    def _counter(self, member_id: str, key: str, period: str) -> int:
        return self.s.counters.get((member_id, key, period), 0)

    def _count(self, member_id: str, key: str, day: date, delta: int, periods=("day", "month", "year", "ever")) -> None:
        for period in periods:
            k = (member_id, key, period_key(period, day))
            self.s.counters[k] = self.s.counters.get(k, 0) + delta
            self.changes.counters[k] = self.changes.counters.get(k, 0) + delta

    def _count_use(self, member_id: str, rule, day: date) -> None:
        periods = tuple(
            p
            for p, limit in (("day", rule.limit_per_day), ("month", rule.limit_per_month), ("ever", rule.limit_ever))
            if limit is not None
        )
        if periods:
            self._count(member_id, "n:" + rule.id, day, 1, periods=periods)

    # --- journal ----------------------------------------------------------------------------

    def _entry(self, member: MemberState, entry: Entry, lot: Lot | None = None) -> None:
        entry.lot_id = lot.id if lot is not None else entry.lot_id
        self.changes.entries.append(entry)
        member.balance += entry.points
        member.debt += entry.debt_delta
        member.dirty = True
        if lot is not None and entry.points:
            lot.remaining += entry.points
            if lot.id not in self._new_lot_ids:
                self.changes.touched_lots[lot.id] = lot

    def _new_lot(self, member: MemberState, lot_id: str, day: date, points: int, expiry: date | None = None) -> Lot:
        lot = Lot(
            lot_id,
            member.member_id,
            day,
            expiry if expiry is not None else expires_on(self.plan.expiry, day),
            points,
            0,
            self.version,
        )
        if member.member_id in self.s.lots:
            self.s.lots[member.member_id].append(lot)
        self.changes.new_lots.append(lot)
        self._new_lot_ids.add(lot.id)
        return lot

    def _award(
        self,
        member: MemberState,
        event_id: str,
        day: date,
        contributions: list[earning.Contribution],
        expiry: date | None = None,
    ) -> int:
        total = sum(c.points for c in contributions)
        if total <= 0:
            return 0
        lot = self._new_lot(member, event_id, day, total, expiry)
        self.earned[event_id] = self.earned.get(event_id, 0) + total
        for c in contributions:
            if c.points:
                self._entry(
                    member,
                    Entry(member.member_id, "earn", c.points, day, event_id, rule_id=c.rule_id, note=c.note),
                    lot,
                )
        for cap in self.plan.caps:
            covered = sum(
                c.points for c in contributions if not cap.rules or c.rule_id in cap.rules or c.base_rule in cap.rules
            )
            if covered:
                self._count(member.member_id, "cap:" + cap.id, day, covered, periods=(cap.period.value,))
        for c in contributions:
            if c.base_rule is not None and c.points and self._is_campaign(c.rule_id):
                self._count(member.member_id, "camp:" + c.rule_id, day, c.points, periods=("ever",))
                self._count("*", "camp:" + c.rule_id, day, c.points, periods=("ever",))
        self._settle(member, lot, day, event_id)
        return total

    def _is_campaign(self, rule_id: str) -> bool:
        return any(m.id == rule_id and m.kind == "campaign" for m in self.plan.multipliers())

    def _settle(self, member: MemberState, lot: Lot, day: date, event_id: str) -> None:
        """New points first fill a negative balance (policy ``negative``) or repay a debt (policy ``debt``)."""
        deficit = next((l for l in self._loaded_lots(member.member_id) if l.deficit and l.remaining < 0), None)
        if deficit is not None and lot.remaining > 0:
            x = min(lot.remaining, -deficit.remaining)
            self._entry(
                member, Entry(member.member_id, "settle", -x, day, event_id, note="fills negative balance"), lot
            )
            self._entry(
                member, Entry(member.member_id, "settle", x, day, event_id, note=f"filled from lot {lot.id}"), deficit
            )
        if member.debt > 0 and lot.remaining > 0:
            x = min(lot.remaining, member.debt)
            self._entry(
                member,
                Entry(member.member_id, "debt_repay", -x, day, event_id, debt_delta=-x, note="repays points debt"),
                lot,
            )

    # --- earning events ---------------------------------------------------------------------

    def _earn(self, ev: Event, member: MemberState) -> None:
        counter = self._counter
        base: list[tuple] = []
        for rule in earning.applicable_rules(self.plan, ev):
            if earning.rule_limit_hit(rule, member.member_id, ev.day, counter):
                continue
            points, note = earning.base_points(rule, ev, member)
            if points > 0:
                base.append((rule, earning.Contribution(rule.id, points, note)))
        extras = earning.multiplier_extras(self.plan, ev, member, base, counter) if base else []
        contributions = earning.apply_caps(self.plan, member.member_id, ev.day, [c for _, c in base] + extras, counter)
        for rule, _ in base:
            self._count_use(member.member_id, rule, ev.day)
        self._award(member, ev.event_id, ev.day, contributions)

    def _on_bill(self, ev: Event, member: MemberState) -> None:
        self._earn(ev, member)
        self._paid(member, ev.day)

    _on_recharge = _on_bill

    def _paid(self, member: MemberState, day: date) -> None:
        if member.first_spend_on is None:
            member.first_spend_on = day
        member.paid = True
        member.dirty = True
        self._check_referral(member, day)

    def _on_checkin(self, ev: Event, member: MemberState) -> None:
        last = member.last_checkin_on
        if last is not None and ev.day <= last:
            raise (
                Rejected("already_checked_in", day=last)
                if ev.day == last
                else Rejected("checkin_out_of_order", day=ev.day, last=last)
            )
        member.streak = member.streak + 1 if last == ev.day - timedelta(days=1) else 1
        member.last_checkin_on = ev.day
        member.dirty = True
        self._earn(ev, member)

    def _on_action(self, ev: Event, member: MemberState) -> None:
        self._earn(ev, member)

    def _on_signup(self, ev: Event, member: MemberState) -> None:
        if member.signed_up_on is not None:
            raise Rejected("already_signed_up", member=member.member_id, day=member.signed_up_on)
        member.signed_up_on = ev.day
        member.dirty = True
        self._earn(ev, member)
        self._check_referral(member, ev.day)

    def _on_birthday(self, ev: Event, member: MemberState) -> None:
        from weixi.ledger import birthday_check  # events from outside (a today): on the member's birthday only

        if self.today is not None and (refused := birthday_check.refusal(ev.member_id, ev.day)) is not None:
            raise Rejected.of(refused)
        if self._counter(member.member_id, "birthday", period_key("year", ev.day)):
            raise Rejected("birthday_already_given", year=ev.day.year)
        self._count(member.member_id, "birthday", ev.day, 1, periods=("year",))
        self._earn(ev, member)

    # --- referrals ----------------------------------------------------------------------------

    def _on_referral(self, ev: Event, member: MemberState) -> None:
        referee = ev.ref
        existing = self.s.referrals.get(referee)
        if existing is not None:
            raise Rejected(
                "already_referred", "ref", referee=referee, referrer=existing.referrer_id, event=existing.event_id
            )
        rule = next((r for r in self.plan.earning if isinstance(r, ReferralRule) and r.window.contains(ev.day)), None)
        if rule is None:
            raise Rejected("no_referral_rule", day=ev.day)
        referee_state = self.s.members.get(referee)
        refused = referral_rules.refusal(member.member_id, referee, referee_state, self.s.referrals, ev.day)
        if refused:  # only a new member, never a mutual pair
            raise Rejected(refused.code, "ref", **refused.params)
        referral = Referral(referee, member.member_id, ev.event_id, ev.day, rule.id, dirty=True)
        self.s.referrals[referee] = referral
        if referee_state is not None:
            self._check_referral(referee_state, ev.day)

    def _check_referral(self, referee: MemberState, day: date) -> None:
        referral = self.s.referrals.get(referee.member_id)
        if referral is None or referral.awarded_on is not None:
            return
        rule = next(r for r in self.plan.earning if r.id == referral.rule_id)
        if (rule.require_registration and referee.signed_up_on is None) or (rule.require_payment and not referee.paid):
            return
        if referral_rules.joined_before(referee, referral.day):  # a back-dated sign-up: not a new member
            return
        referrer = self.s.members[referral.referrer_id]
        referral.awarded_on = day
        referral.dirty = True
        if earning.rule_limit_hit(rule, referrer.member_id, day, self._counter):
            return
        contribution = earning.Contribution(rule.id, rule.points, f"referee {referee.member_id} registered and paid")
        contributions = earning.apply_caps(self.plan, referrer.member_id, day, [contribution], self._counter)
        self._count_use(referrer.member_id, rule, day)
        self._award(referrer, referral.event_id, day, contributions)

    # --- adjustments ---------------------------------------------------------------------------

    def _on_adjust(self, ev: Event, member: MemberState) -> None:
        note = str(ev.attrs.get("reason", "manual adjustment"))
        if ev.points > 0:
            expiry = ev.attrs.get("expires_on")
            try:
                expiry_day = date.fromisoformat(expiry) if expiry else None
            except (TypeError, ValueError):
                raise Rejected("bad_expiry_date", "attrs", value=expiry) from None
            lot = self._new_lot(member, ev.event_id, ev.day, ev.points, expiry_day)
            self._entry(member, Entry(member.member_id, "adjust", ev.points, ev.day, ev.event_id, note=note), lot)
            self._settle(member, lot, ev.day, ev.event_id)
            return
        self._spend(member, -ev.points, ev, "adjust", note)

    # --- redemption ----------------------------------------------------------------------------

    def spendable(self, member: MemberState, day: date) -> int:
        lots = self._lots(member.member_id)
        return usable_points(lots, day, self.today) + sum(l.remaining for l in lots if l.deficit)

    def _spend(self, member: MemberState, points: int, ev: Event, kind: str, note: str) -> list[tuple[Lot, int]]:
        available = self.spendable(member, ev.day)
        if available < points:
            raise Rejected("not_enough_points", balance=available, cost=points, day=ev.day)
        taken, _ = plan_consumption(
            self._lots(member.member_id), points, ev.day, self.plan.consumption_order, None, self.today
        )
        for lot, n in taken:
            self._entry(member, Entry(member.member_id, kind, -n, ev.day, ev.event_id, note=note), lot)
        return taken

    def _on_redeem(self, ev: Event, member: MemberState) -> None:
        reward = self.plan.reward(ev.ref)
        if reward is None:
            raise Rejected("unknown_reward", "ref", reward=ev.ref)
        qty = ev.qty
        refused = redeeming.refusal(self.plan, reward, ev, member, qty, self._counter, self.s.stock.get(reward.id))
        if refused is not None:
            raise Rejected.of(refused)
        available = self.spendable(member, ev.day)
        if available < reward.cost * qty:
            raise Rejected(
                "not_enough_points", balance=available, cost=reward.cost * qty, day=ev.day, reward=reward.id, qty=qty
            )
        details, codes = redeeming.fulfilment(reward, ev, qty, self.random_bytes)
        self.changes.coupons += [(code, reward.id, ev.member_id, ev.event_id) for code in codes]
        taken = self._spend(member, reward.cost * qty, ev, "redeem", f"{qty} x {reward.id}")
        details["lots"] = [[lot.id, n] for lot, n in taken]
        stock = self.s.stock.get(reward.id)
        if stock is not None:
            stock.issued += qty
            stock.dirty = True
        self._count(member.member_id, "rw:" + reward.id, ev.day, qty, periods=("day", "month", "ever"))
        self.changes.redemptions.append(
            Redemption(
                ev.event_id,
                member.member_id,
                reward.id,
                qty,
                reward.cost * qty,
                ev.day,
                details,
                ev.attrs.get("request_id"),
            )
        )
