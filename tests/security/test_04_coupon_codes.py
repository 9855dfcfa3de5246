"""Issue 16, item 4: coupon codes cannot be computed by anyone.

The attack: a code was the SHA-256 of the reward id, the redemption id (``redeem:`` + the request id) and the unit,
so anyone who knew or guessed a request id computed a valid code. The safe answer: each code carries 80 random
bits drawn when the redemption posts and is stored with it; the same public inputs in two ledgers give different
codes; a retry reads the stored codes back, so it gets the same ones.
"""

from __future__ import annotations

import hashlib

from tests.api.conftest import MEMBER, ROOT, make_api
from weixi.plans import service as plans

SERVICE_PLAN = ROOT / "plans" / "examples" / "service-points.yaml"  # coupon-20: 2000 points, code prefix SVC20


def redeem_coupons(tmp_path) -> tuple[dict, dict]:
    tmp_path.mkdir()
    api = make_api(tmp_path)
    try:
        plans.apply_plan(api.engine, SERVICE_PLAN)
        api.post_points(MEMBER, "5000.00", "seed")
        clerk = api.client("clerk")
        body = {"member_id": MEMBER, "reward_id": "coupon-20", "qty": 2, "request_id": "pos-2001"}
        first, retry = clerk.post("/api/redemptions", json=body), clerk.post("/api/redemptions", json=body)
        assert first.status_code == 201 and retry.status_code == 200, (first.text, retry.text)
        return first.json(), retry.json()
    finally:
        for c in api.clients:
            c.close()
        api.engine.dispose()


def old_formula(reward_id: str, redemption_id: str, index: int, prefix: str = "SVC20") -> str:
    return f"{prefix}-" + hashlib.sha256(f"{reward_id}\x00{redemption_id}\x00{index}".encode()).hexdigest()[:12].upper()


def test_codes_cannot_be_computed_from_the_request_and_stay_the_same_on_a_retry(tmp_path):
    a, a_retry = redeem_coupons(tmp_path / "a")
    b, _ = redeem_coupons(tmp_path / "b")
    codes = a["details"]["codes"]
    assert len(codes) == 2 and len(set(codes)) == 2 and all(c.startswith("SVC20-") for c in codes)
    assert a_retry["duplicate"] is True and a_retry["details"]["codes"] == codes  # the same on a retry
    # the same reward, member and request id in another ledger: other codes (nothing public determines them)
    assert not set(codes) & set(b["details"]["codes"])
    guesses = {old_formula("coupon-20", rid, i) for rid in ("redeem:pos-2001", a["redemption_id"]) for i in range(2)}
    assert not guesses & set(codes)
    symbols = [c.removeprefix("SVC20-").replace("-", "") for c in codes]
    assert all(len(s) >= 16 for s in symbols)  # at least 80 bits in base32
