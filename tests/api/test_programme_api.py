"""GET /api/close/programme: the programme figures for finance (issue 20 §13: "Redemption rate (兑换率), breakage
(points that will never be redeemed: expired and projected), the monthly points budget of the ongoing programme and
its burn, conversion rate — in the close summary, the API and the dashboard"), each with its numerator and
denominator."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tests.api.conftest import assert_envelope
from tests.integration.helpers import TZ, event
from weixi.close.run import close_month
from weixi.ledger.posting import post_events
from weixi.ledger.redemption import redeem


def _november(engine) -> None:
    """M1 is given 500 points and M2 300 on 11-01; M1 redeems two 1-yuan bill credits (100 points each) on 11-05."""
    grants = [
        event("g1", "M1", "adjust", "2026-11-01", points=500),
        event("g2", "M2", "adjust", "2026-11-01", points=300),
    ]
    assert post_events(engine, grants).posted == 2
    redeem(engine, "M1", "bill-credit", 2, request_id="api-r1", at=datetime(2026, 11, 5, 10, tzinfo=TZ))


def test_a_month_not_closed_is_counted_from_the_ledger(api):
    _november(api.engine)
    r = api.client("analyst").get("/api/close/programme", params={"month": "2026-11", "budget": 1000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["month"], body["basis"], body["as_of"]) == ("2026-11", "ledger", "2026-12-01")
    # 兑换率: 200 of 800 issued
    assert body["redemption_rate"]["month"] == {"numerator": 200, "denominator": 800, "rate": "0.2500"}
    assert body["redemption_rate"]["to_date"] == {"numerator": 200, "denominator": 800, "rate": "0.2500"}
    # the telecom plan's points last a year: nothing has expired, no lot is past its date, no projection yet
    assert body["breakage"]["expired"] == {"month": 0, "to_date": 0}
    assert body["breakage"]["projection"]["outstanding_expiring"] == 600
    assert body["breakage"]["projected"] is None
    # burn: 800 of a 1,000-point budget, 10.00 yuan at 0.01 yuan a point
    assert body["budget"]["burn"] == {"numerator": 800, "denominator": 1000, "rate": "0.8000"}
    assert (body["budget"]["yuan"], body["budget"]["issued_yuan"]) == ("10.00", "8.00")
    # conversion: M1 of the ledger's two members
    assert body["conversion"] == {"numerator": 1, "denominator": 2, "rate": "0.5000"}


def test_without_a_budget_there_is_no_burn(api):
    _november(api.engine)
    body = api.client("admin").get("/api/close/programme", params={"month": "2026-11"}).json()
    assert body["budget"]["points"] is None and body["budget"]["burn"] is None
    assert body["budget"]["issued"] == 800


def test_a_closed_month_gives_the_figures_its_close_kept(operator_api):
    close_month(operator_api.engine, operator_api.data_dir, "2026-08", budget=50_000)
    client = operator_api.client("analyst")
    kept = client.get("/api/close/months").json()["months"][0]["summary"]["programme"]
    body = client.get("/api/close/programme", params={"month": "2026-08"}).json()
    assert body == kept and body["basis"] == "close"
    assert body["budget"]["burn"]["denominator"] == 50_000
    again = client.get("/api/close/programme", params={"month": "2026-08", "budget": 80_000}).json()
    assert again["budget"]["burn"] == {
        "numerator": kept["issued"]["month"],
        "denominator": 80_000,
        "rate": str((Decimal(kept["issued"]["month"]) / 80_000).quantize(Decimal("0.0001"), ROUND_HALF_UP)),
    }
    assert {k: v for k, v in again.items() if k != "budget"} == {k: v for k, v in kept.items() if k != "budget"}


def test_refusals(api):
    assert_envelope(api.client("analyst").get("/api/close/programme", params={"month": "2026-13"}), 422, "not_a_month")
    assert (
        api.client("analyst").get("/api/close/programme", params={"month": "2026-11", "budget": 0}).status_code == 422
    )
    assert api.client("manager").get("/api/close/programme", params={"month": "2026-11"}).status_code == 403
    assert api.client().get("/api/close/programme", params={"month": "2026-11"}).status_code == 401
