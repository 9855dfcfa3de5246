"""The writer contract: every implementation of :class:`weixi.adapters.writer.Writer` gives the same answers.

The same cases run against the in-process :class:`~weixi.adapters.writer.Committer` and the
:class:`~weixi.adapters.writer_process.ProcessCommitter`, each reached both ways the API and the tools reach a
writer: from plain threads (``submit``/``post``) and from coroutines (``apost``). Requests sent together go in one
batch; each keeps its own outcomes, in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from concurrent.futures import wait

import pytest

from tests.api.conftest import PLAN
from tests.loop import run_async
from weixi.adapters.db import make_engine
from weixi.adapters.schema import upgrade
from weixi.adapters.writer import Committer, Outcome, Writer, WriterError, redeem_event
from weixi.adapters.writer_process import ProcessCommitter
from weixi.ledger.events import parse_event
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

WAIT = 120  # seconds: a writer process starts with a cold import on a busy machine

IMPLEMENTATIONS = [("thread", "threads"), ("thread", "coroutines"), ("process", "threads"), ("process", "coroutines")]


@dataclasses.dataclass
class Harness:
    writer: Writer
    style: str
    engine: object
    ids: itertools.count = dataclasses.field(default_factory=itertools.count)

    def send(self, requests: list[list]) -> list:
        """Send every request at once (they share a batch); per request its outcomes, or the exception it raised."""
        if self.style == "threads":
            futures = [self.writer.submit(events) for events in requests]
            wait(futures, timeout=WAIT)
            return [f.exception() or f.result() for f in futures]

        async def together():
            return await asyncio.gather(*[self.writer.apost(events) for events in requests], return_exceptions=True)

        return run_async(together())

    def one(self, events: list) -> list[Outcome]:
        [result] = self.send([events])
        if isinstance(result, BaseException):
            raise result
        return result

    def member(self) -> str:
        return f"C{next(self.ids):05d}"

    def bill(self, event_id: str, member: str, yuan: str, day: str = "2026-11-01"):
        return parse_event(
            {"event_id": event_id, "member_id": member, "type": "bill", "occurred_at": day, "amount": yuan},
            self.writer.zone(),
        )


@pytest.fixture(scope="module", params=IMPLEMENTATIONS, ids=["-".join(p) for p in IMPLEMENTATIONS])
def harness(request, tmp_path_factory):
    kind, style = request.param
    path = tmp_path_factory.mktemp(f"writer-{kind}-{style}") / "ledger.db"
    engine = make_engine(str(path))
    upgrade(engine)
    apply_plan(engine, PLAN)
    writer = Committer(engine, timeout=WAIT) if kind == "thread" else ProcessCommitter(engine, str(path), timeout=WAIT)
    writer.start()
    yield Harness(writer, style, engine)
    writer.close()
    assert verify(engine)[0] == []  # whatever the cases did, the ledger balances
    engine.dispose()


def test_every_writer_is_a_writer(harness):
    assert isinstance(harness.writer, Writer)
    assert harness.writer.zone() is not None and harness.writer.now().tzinfo is not None


def test_post(harness):
    member = harness.member()
    [outcome] = harness.one([harness.bill(f"{member}-b1", member, "250.00")])
    assert (outcome.event_id, outcome.status, outcome.reason) == (f"{member}-b1", "posted", None)
    assert isinstance(outcome.plan_version, int)


def test_duplicate(harness):
    member = harness.member()
    event = harness.bill(f"{member}-b1", member, "100.00")
    first, again = harness.send([[event], [event]])  # the same id twice in one batch: posted once
    assert [first[0].status, again[0].status] == ["posted", "duplicate"]
    assert harness.one([event])[0].status == "duplicate"  # and in a later batch


def test_rejection(harness):
    member = harness.member()
    harness.one([harness.bill(f"{member}-b1", member, "250.00")])  # 25 points
    poor, unknown = harness.send(
        [
            [redeem_event(harness.writer, member, "bill-credit", 1, "too-dear")],
            [redeem_event(harness.writer, member, "no-such-reward", 1, "unknown")],
        ]
    )
    for [outcome] in (poor, unknown):
        assert outcome.status == "rejected" and outcome.reason and outcome.redemption is None
    assert poor[0].reason != unknown[0].reason  # each refusal is its own


def test_redemption_row(harness):
    member = harness.member()
    harness.one([harness.bill(f"{member}-b1", member, "1000.00")])  # 100 points
    [red] = harness.one([redeem_event(harness.writer, member, "bill-credit", 1, "pos-1")])
    assert red.status == "posted" and red.redemption["points"] == 100
    assert red.redemption["details"]["lots"] == [[f"{member}-b1", 100]]
    [again] = harness.one([redeem_event(harness.writer, member, "bill-credit", 1, "pos-1")])  # the same request
    assert again.status == "duplicate" and again.event_id == red.event_id
    assert again.redemption["points"] == 100


def test_a_batch_of_many_requests_keeps_one_outcome_per_event_in_order(harness):
    member = harness.member()
    requests = [[harness.bill(f"{member}-m{i}", member, "10.00")] for i in range(40)]
    requests.append(
        [
            harness.bill(f"{member}-pair-a", member, "10.00"),
            harness.bill(f"{member}-m0", member, "10.00"),  # a duplicate inside a request
            harness.bill(f"{member}-pair-b", member, "10.00"),
        ]
    )
    before = harness.writer.stats()
    results = harness.send(requests)
    assert [[o.event_id for o in r] for r in results] == [[e.event_id for e in evs] for evs in requests]
    assert all(r[0].status == "posted" for r in results[:40])
    assert [o.status for o in results[40]] == ["posted", "duplicate", "posted"]
    after = harness.writer.stats()
    assert after["events"] - before["events"] == 43
    assert after["batches"] - before["batches"] <= 43  # the waiting requests shared batches


def test_a_failure_is_isolated_to_its_request(harness):
    member = harness.member()
    good = harness.bill(f"{member}-good", member, "10.00")
    # attrs that cross a pipe (a set pickles) but cannot be written (not JSON): posting that request fails
    bad = dataclasses.replace(harness.bill(f"{member}-bad", member, "10.00"), attrs={"tags": {"a", "b"}})
    later = harness.bill(f"{member}-later", member, "10.00")
    results = harness.send([[good], [bad], [later]])
    assert isinstance(results[1], Exception)
    assert results[0][0].status == "posted" and results[2][0].status == "posted"
    assert harness.one([harness.bill(f"{member}-next", member, "10.00")])[0].status == "posted"  # still serving


@pytest.mark.parametrize("kind, style", IMPLEMENTATIONS)
def test_a_closed_writer_refuses_requests_with_503(tmp_path, kind, style):
    path = tmp_path / "ledger.db"
    engine = make_engine(str(path))
    upgrade(engine)
    apply_plan(engine, PLAN)
    writer = Committer(engine) if kind == "thread" else ProcessCommitter(engine, str(path))
    h = Harness(writer, style, engine)
    event = h.bill("b1", "M1", "10.00")
    writer.close()
    [error] = h.send([[event]])
    assert isinstance(error, WriterError) and (error.status, error.code) == (503, "writer_unavailable")
    engine.dispose()
