"""Issue 16, item 3: a masked phone (``135****1091``) must not be recoverable by searching its last digits.

The attack: a clerk or analyst sees the last 4 digits, then prepends one digit at a time (10 guesses a digit) and
watches which search still finds the member, recovering the whole number in at most 70 requests. Safe answer:
roles without the PII permission find a member by the whole number only; the last digits find it only for PII
roles (admin, manager, agent), and every such search is a ``pii.view`` row in the audit log.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import MEMBER
from weixi.adapters import archive, search_index
from weixi.users.service import audit_entries


def phone_of(api) -> str:
    return archive.members_lookup(api.data_dir, MEMBER)["phone"]


def found(client, q: str, path: str = "/api/members") -> bool:
    r = client.get(path, params={"q": q})
    assert r.status_code == 200, r.text
    return MEMBER in (str(r.json()["members"]) if path.startswith("/api") else r.text)


def recover(client, last4: str, path: str) -> str:
    """The attack: grow the known tail one digit at a time while a search by it still finds the member."""
    known = last4
    for _ in range(7):
        digit = next((d for d in "0123456789" if found(client, d + known, path)), None)
        if digit is None:
            break
        known = digit + known
    return known


@pytest.fixture(params=["index", "scan"])
def searched(request, operator_api, monkeypatch):
    """Both ways a search runs: through the search index (built by a close or a members load) and by a scan."""
    if request.param == "index":
        search_index.build(operator_api.data_dir)
        assert search_index.fresh(operator_api.data_dir) is not None
    else:
        monkeypatch.setattr(search_index, "fresh", lambda data: None)
    return operator_api


@pytest.mark.parametrize("role", ["clerk", "analyst"])
@pytest.mark.parametrize("path", ["/api/members", "/members/results"])
def test_roles_without_pii_rights_cannot_recover_a_masked_phone_by_its_last_digits(searched, role, path):
    phone = phone_of(searched)
    client = searched.client(role)
    assert found(client, phone, path)  # the whole number still finds the member (exact match)
    assert not found(client, phone[-4:], path)
    assert not found(client, phone[-8:], path)
    assert recover(client, phone[-4:], path) == phone[-4:]  # not one digit more than the mask shows
    assert audit_entries(searched.engine, action="pii.view") == []


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_pii_roles_search_by_last_digits_and_every_such_search_is_audited(searched, role):
    phone = phone_of(searched)
    client = searched.client(role)
    r = client.get("/api/members", params={"q": phone[-6:]})
    assert r.status_code == 200 and MEMBER in [m["member_id"] for m in r.json()["members"]]
    assert r.json()["masked"]  # found, still masked without reveal=true
    miss = "0000" if not phone.endswith("0000") else "9999"
    client.get("/api/members", params={"q": miss})  # a probe that finds nobody is audited too
    entries = audit_entries(searched.engine, action="pii.view")
    by_query = {e["detail"]["query"]: e for e in entries}
    assert set(by_query) == {phone[-6:], miss}
    hit = by_query[phone[-6:]]
    assert (hit["username"], hit["role"], hit["detail"]["view"]) == (role, role, "member_search")
    assert MEMBER in hit["detail"]["members"]
    log = searched.client("admin").get("/api/audit", params={"action": "pii.view"}).json()["entries"]
    assert {e["detail"]["query"] for e in log} == {phone[-6:], miss}
