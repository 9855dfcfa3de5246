"""Fuzzing the OpenAPI spec with schemathesis (in-process, ASGI): no 500s for any generated request, valid or
not; oversized and malformed payloads get 4xx; search strings with SQL or HTML in them are harmless."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.conftest import MEMBER, assert_envelope, make_api
from weixi.adapters.sql import execute

MAX_EXAMPLES = 8


# schemathesis parametrizes at collection time, so the app exists from import on (in a temporary directory
# removed when the module's tests are done); its lazy fixture loader does not work with pytest 9.
_DIR = Path(tempfile.mkdtemp(prefix="weixi-fuzz-"))
FUZZ = make_api(_DIR)
schema = schemathesis.openapi.from_asgi("/openapi.json", FUZZ.app)


@pytest.fixture(scope="module")
def fuzz_api():
    FUZZ.post_points(MEMBER, "5000.00", "fuzz-seed")
    yield FUZZ
    for c in FUZZ.clients:
        c.close()
    FUZZ.engine.dispose()
    shutil.rmtree(_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, fuzz_api):
    """Every operation with generated data (schema-conforming and broken), authenticated as admin: never a 5xx,
    and data the schema forbids is refused with a 4xx."""
    if case.operation.path == "/api/auth/token/revoke" or case.operation.path == "/api/auth/logout":
        headers = {"Authorization": f"Bearer {fuzz_api.tokens['analyst']}"}  # keep the admin token alive
    else:
        headers = {"Authorization": f"Bearer {fuzz_api.tokens['admin']}"}
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}


def test_oversized_and_malformed_payloads_get_4xx(fuzz_api):
    admin = fuzz_api.client("admin")
    huge = {"events": [{"event_id": f"e{i}", "member_id": MEMBER, "type": "bill",
                        "occurred_at": "2026-11-01", "amount": "1.00", "attrs": {"pad": "x" * 2000}} for i in range(1000)]}
    assert_envelope(admin.post("/api/events", json=huge), 413)
    too_many = {"events": [{"event_id": f"e{i}", "member_id": MEMBER, "type": "bill", "occurred_at": "2026-11-01",
                            "amount": "1"} for i in range(1001)]}
    assert_envelope(admin.post("/api/events", json=too_many), 422)
    for raw in (b"", b"{", b"[1,2", b"\xff\xfe", b"null", b"[]", b'{"member_id": null}', b'"text"', b"1e999999"):
        r = admin.post("/api/redemptions", content=raw, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (raw, r.status_code, r.text)
        assert_envelope(r, r.status_code)
    r = admin.post("/api/redemptions", content=b'{"member_id": "M", "reward_id": "r"}',
                   headers={"content-type": "application/json", "content-length": "not-a-number"})
    assert 400 <= r.status_code < 500
    deep = b"[" * 100_000 + b"]" * 100_000
    assert 400 <= admin.post("/api/plans/check", content=deep, headers={"content-type": "application/json"}).status_code < 500


HOSTILE = ["' OR '1'='1", "'; DROP TABLE members; --", "M0000000002' --", "%", "_", "\\", "\x00",
           "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "1; SELECT * FROM users",
           "$q", "') UNION SELECT username, password_hash FROM users --"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_strings_are_harmless(fuzz_api, text):
    admin = fuzz_api.client("admin")
    r = admin.get("/api/members", params={"q": text})
    assert r.status_code in (200, 422), r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    if r.status_code == 200:
        body = r.json()
        assert body["query"] == text.strip() or body["query"] == text
        assert all(text.strip() in (m["member_id"] or "") or text.strip() in (m.get("name") or "")
                   or text.strip().isdigit() for m in body["members"])
        assert "argon2" not in r.text
    for path in (f"/api/members/{quote(text, safe='')}/balance", f"/api/redemptions/{quote(text, safe='')}"):
        r = admin.get(path)
        assert r.status_code in (404, 422, 403), (path, r.status_code)
    with fuzz_api.engine.connect() as conn:  # every table still there, still whole
        assert execute(conn, "SELECT count(*) FROM members")[0][0] >= 1
        names = {r[0] for r in execute(conn, "SELECT username FROM users")}
        assert {"admin", "analyst", "manager", "agent", "clerk", "member"} <= names
