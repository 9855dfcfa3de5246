"""A started campaign's audience is read from the database once per process (the live page asks every 5 s), and never
served for another campaign, another database or a campaign not yet started."""

from __future__ import annotations

from tests.integration.test_campaigns import EXAMPLES, at, campaign_text, start
from weixi.adapters.db import make_engine
from weixi.campaigns import measures
from weixi.campaigns import service as cs
from weixi.plans.service import apply_plan


def _members(table) -> list[tuple[str, str]]:
    return sorted(zip(table["member_id"].to_pylist(), table["grp"].to_pylist()))


def _reads(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = measures._arrow

    def counting(conn, sql, params):
        if "FROM campaign_members" in sql:
            seen.append(str(conn.engine.url))
        return real(conn, sql, params)

    monkeypatch.setattr(measures, "_arrow", counting)
    return seen


def _operator(path) -> object:
    engine = make_engine(f"sqlite:///{path}")
    from weixi.adapters import schema

    schema.upgrade(engine)
    apply_plan(engine, EXAMPLES / "telecom-points.yaml")
    return engine


def test_a_started_campaigns_audience_is_read_once_and_only_for_itself(tmp_path, monkeypatch):
    reads = _reads(monkeypatch)
    one, two = _operator(tmp_path / "one.db"), _operator(tmp_path / "two.db")
    try:
        # the same campaign id in two databases, with other members
        start(one, campaign_text(["a", "b", "c"]))
        start(two, campaign_text(["x", "y"]))
        with one.connect() as conn:
            _, c = cs.load(conn, "t")
            first = measures.audience(conn, c)
            again = measures.audience(conn, c)
        assert _members(first) == [("a", "treatment"), ("b", "treatment"), ("c", "treatment")]
        assert again is first and len(reads) == 1  # the second read came from the process's copy
        with two.connect() as conn:
            _, c = cs.load(conn, "t")
            other = measures.audience(conn, c)
        assert _members(other) == [("x", "treatment"), ("y", "treatment")] and len(reads) == 2

        # a campaign not yet started has no fixed audience: read each time, never kept
        draft = campaign_text(["a"]).replace("campaign: t", "campaign: d")
        cs.create(one, draft, "d.yaml", "alice", now=at("2026-06-20T09:00:00"))
        with one.connect() as conn:
            _, d = cs.load(conn, "d")
            assert measures.audience(conn, d).num_rows == 0 and measures.audience(conn, d).num_rows == 0
        assert len(reads) == 4
    finally:
        one.dispose()
        two.dispose()
