"""Issue 16, item 7: out-of-range values (amount 99999999999999999999, points 10^20, dates in year 9999 or 0001)
are rejected one event at a time with the field and the reason; the good events of the same request or file
post; no 500, no traceback; a plan may set a lower amount cap (``max_amount``)."""

from __future__ import annotations

import json

from tests.api.conftest import MEMBER, ROOT
from tests.e2e.cli_helpers import weixi_json
from weixi.ledger.verify import verify

BAD = [
    ({"type": "bill", "amount": "99999999999999999999"}, "amount"),
    ({"type": "bill", "amount": "1e999999999"}, "amount"),
    ({"type": "adjust", "points": 10**20, "attrs": {"reason": "huge"}}, "points"),
    ({"type": "adjust", "points": -(10**20), "attrs": {"reason": "huge"}}, "points"),
    ({"type": "bill", "amount": "10.00", "occurred_at": "9999-12-31T23:59:59+08:00"}, "occurred_at"),
    ({"type": "bill", "amount": "10.00", "occurred_at": "0001-01-01T00:00:00+08:00"}, "occurred_at"),
    ({"type": "bill", "amount": "10.00", "occurred_at": "1999-12-31T10:00:00+08:00"}, "occurred_at"),
    ({"type": "redeem", "ref": "bill-credit", "attrs": {"qty": 10**30}}, "attrs"),
    ({"type": "adjust", "points": 5, "attrs": {"reason": "far", "expires_on": "9999-12-31"}}, "attrs"),
]


def good(i: int) -> dict:
    return {
        "event_id": f"good-{i}",
        "member_id": MEMBER,
        "type": "bill",
        "occurred_at": "2026-11-01T10:00:00+08:00",
        "amount": "100.00",
    }


def bad(i: int, fields: dict) -> dict:
    return {"event_id": f"bad-{i}", "member_id": MEMBER, "occurred_at": "2026-11-02T10:00:00+08:00", **fields}


def test_out_of_range_events_are_rejected_one_by_one_and_the_rest_post(api):
    admin = api.client("admin")
    events = [good(0)] + [bad(i, f) for i, (f, _) in enumerate(BAD)] + [good(1)]
    r = admin.post("/api/events", json={"events": events})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["posted"] == 2
    assert [(x["index"], x["field"]) for x in out["rejected"]] == [(i + 1, field) for i, (_, field) in enumerate(BAD)]
    assert all("out of range" in x["reason"] or "from 1 to" in x["reason"] for x in out["rejected"]), out["rejected"]
    assert admin.get(f"/api/members/{MEMBER}/balance").json()["balance"] == 20
    assert verify(api.engine)[0] == []


def test_the_cli_posts_the_good_rows_and_quarantines_the_rest(api, tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [good(i) for i in range(20)] + [bad(i, f) for i, (f, _) in enumerate(BAD)]
    path.write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n" + '{"event_id": "huge", "points": 1' + "0" * 5000 + "}\n",
        encoding="utf-8",
    )
    result = weixi_json("events", "post", path, db=api.engine.url.database)
    assert (result["posted"], result["rejected"]) == (20, len(BAD) + 1)
    quarantine = tmp_path / "mixed.jsonl.rejected.csv"
    assert result["quarantine"] == str(quarantine) and quarantine.exists()
    assert len(quarantine.read_text(encoding="utf-8").splitlines()) == 1 + len(BAD) + 1
    assert verify(api.engine)[0] == []


def test_a_plan_may_cap_the_amount_lower(api):
    admin = api.client("admin")
    text = (ROOT / "plans" / "examples" / "telecom-points.yaml").read_text(encoding="utf-8")
    capped = text.replace('cost_per_point: "0.01"\n', 'cost_per_point: "0.01"\nmax_amount: 5000\n', 1)
    assert capped != text
    assert admin.post("/api/plans/apply", json={"text": capped, "filename": "capped.yaml"}).status_code == 201
    out = admin.post(
        "/api/events", json={"events": [{**good(0), "amount": "5000.00"}, {**good(1), "amount": "5000.01"}]}
    ).json()
    assert out["posted"] == 1
    assert [(x["event_id"], x["field"]) for x in out["rejected"]] == [("good-1", "amount")]
    assert "max_amount" in out["rejected"][0]["reason"]
    over = (
        (ROOT / "plans" / "examples" / "telecom-points.yaml")
        .read_text(encoding="utf-8")
        .replace('cost_per_point: "0.01"\n', 'cost_per_point: "0.01"\nmax_amount: 20000000000\n', 1)
    )
    refused = admin.post("/api/plans/check", json={"text": over, "filename": "over.yaml"}).json()
    assert refused["ok"] is False and any("max_amount" in d["message"] for d in refused["diagnostics"])
