"""The close summary's programme figures (issue 20 §13: "Redemption rate (兑换率), breakage ..., the monthly points
budget of the ongoing programme and its burn, conversion rate — in the close summary"), on a small generated
operator: they agree with the summary's own points, and the conversion rate's members are the snapshot's active
members."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT
from tests.integration.helpers import TZ, event
from weixi.adapters import schema
from weixi.adapters.archive import scan_sql
from weixi.adapters.db import make_engine
from weixi.close import store
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.posting import post_events
from weixi.ledger.redemption import redeem
from weixi.plans.service import apply_plan

PLAN = ROOT / "plans" / "examples" / "telecom-points.yaml"
MONTH = "2026-08"
BUDGET = 200_000


@pytest.fixture(scope="module")
def closed(tmp_path_factory) -> tuple[dict, Path, str]:
    root = tmp_path_factory.mktemp("programme-close")
    data = root / "data"
    generate(GenerateConfig(members=300, months=3, seed=7, out=str(data), end_month="2026-10"))
    engine = make_engine(str(root / "ledger.db"))
    schema.upgrade(engine)
    apply_plan(engine, PLAN)
    left = f"SELECT member_id FROM ({scan_sql(data, 'churn_labels')}) WHERE churned"
    member = duckdb.sql(
        f"SELECT min(member_id) FROM ({scan_sql(data, 'members')}) "
        f"WHERE join_date < DATE '{MONTH}-01' AND member_id NOT IN ({left})"
    ).fetchone()[0]
    assert post_events(engine, [event("grant", member, "adjust", "2026-08-03", points=500)]).posted == 1
    redeem(engine, member, "bill-credit", 2, request_id="programme-r1", at=datetime(2026, 8, 10, 10, tzinfo=TZ))
    result = close_month(engine, data, MONTH, budget=BUDGET)
    engine.dispose()
    return result, data, member


def test_the_close_summary_has_the_programme_figures(closed):
    result, data, member = closed
    summary = result["summary"]
    figures = summary["programme"]
    assert (figures["month"], figures["basis"], figures["as_of"]) == (MONTH, "close", "2026-09-01")
    points = summary["points"]
    assert figures["issued"]["month"] == points["issued"] > 0
    assert figures["redeemed"]["month"] == points["redeemed"] == 200
    assert figures["redemption_rate"]["month"]["numerator"] == 200
    assert figures["redemption_rate"]["month"]["denominator"] == points["issued"]
    assert figures["breakage"]["expired"]["month"] == points["expired"]
    assert figures["budget"]["points"] == BUDGET
    assert figures["budget"]["burn"]["numerator"] == points["issued"]
    assert figures["budget"]["burn"]["denominator"] == BUDGET
    # conversion: the one member who redeemed, of the snapshot's active members
    assert figures["conversion"]["numerator"] == 1
    snapshot = store.path(data, "snapshots", MONTH)
    assert duckdb.sql(f"SELECT status FROM read_parquet('{snapshot}') WHERE member_id = '{member}'").fetchone() == (
        "active",
    )
    assert figures["conversion"]["denominator"] == summary["active"]
    assert store.read_manifest(data, MONTH)["summary"]["programme"] == figures
