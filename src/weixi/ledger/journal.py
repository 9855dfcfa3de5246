"""What a :class:`~weixi.ledger.book.Book` reads and writes: the state it is loaded with, the journal entries,
lots, counters and redemptions it collects, and its refusal of an event (:class:`Rejected`). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from weixi.errors import Conflict, Problem, Where
from weixi.ledger.events import Event, field_of
from weixi.ledger.lots import Lot
from weixi.ledger.state import MemberState, Referral, RewardStock, SourceEvent


class Rejected(Conflict):
    """An event the ledger refuses: a ``code`` and its ``params`` (``weixi/locale/*/LC_MESSAGES/errors.po``);
    ``reason`` is its English sentence and ``field`` the event field it is about, if any."""

    def __init__(self, code: str, field: str | None = None, /, **params):
        super().__init__(code, None, **params)
        self.field = field or field_of(self.reason)
        self.where = Where(field=self.field) if self.field else None

    @property
    def reason(self) -> str:
        return str(self)

    @classmethod
    def of(cls, problem: Problem) -> Rejected:
        return cls(problem.code, problem.where.field if problem.where else None, **problem.params)


class RequestReused(Rejected):
    """A ``request_id`` sent again with another member or body: refused, not stored (the key keeps its outcome)."""

    def __init__(self):
        super().__init__("request_id_reused", "request_id")


@dataclass
class Entry:
    """One immutable journal line: ``points`` change the member's balance and, with ``lot_id``, that lot."""

    member_id: str
    kind: str  # earn, redeem, cancel, expire, reverse, clawback, deficit, debt, settle, adjust
    points: int
    day: date
    event_id: str | None = None
    lot_id: str | None = None
    rule_id: str | None = None
    note: str = ""
    debt_delta: int = 0


@dataclass
class Redemption:
    id: str
    member_id: str
    reward_id: str
    qty: int
    points: int
    day: date
    details: dict
    request_id: str | None = None
    status: str = "fulfilled"


@dataclass
class Changes:
    events: list[Event] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)
    touched_lots: dict[str, Lot] = field(default_factory=dict)
    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)  # deltas
    redemptions: list[Redemption] = field(default_factory=list)
    coupons: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, reward, member, redemption
    rejections: list[tuple[Event, Rejected]] = field(default_factory=list)


@dataclass
class BookState:
    members: dict[str, MemberState] = field(default_factory=dict)
    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    lots: dict[str, list[Lot]] = field(default_factory=dict)  # only members whose lots were loaded
    sources: dict[str, SourceEvent] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)  # by referee
    stock: dict[str, RewardStock] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # event ids already posted
    rejected: dict[str, Problem] = field(default_factory=dict)  # event ids the ledger already rejected, and why
    keys: dict[str, tuple] = field(default_factory=dict)  # what keyed requests of those ids asked (ledger.requests)
