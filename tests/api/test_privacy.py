"""Phone and ID numbers: masked unless a role that may see them asks, and every unmasked view is audited."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import MEMBER, assert_envelope
from weixi.adapters import archive
from weixi.api.permissions import pii_unmasked
from weixi.users.service import ROLES, audit_entries

MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")


def clear_profile(api) -> dict:
    return archive.members_lookup(api.data_dir, MEMBER)


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "agent", "clerk", "member"])
def test_member_360_is_masked_by_default_for_every_role(operator_api, role):
    r = operator_api.client(role).get(f"/api/members/{MEMBER}")
    assert r.status_code == 200, r.text
    profile = r.json()["profile"]
    clear = clear_profile(operator_api)
    assert MASKED_PHONE.match(profile["phone"]) and profile["phone"] != clear["phone"]
    assert profile["id_number"] != clear["id_number"] and "*" in profile["id_number"]
    assert profile["phone"][-4:] == clear["phone"][-4:]
    assert audit_entries(operator_api.engine, action="pii.view") == []


@pytest.mark.parametrize("role", ROLES)
def test_reveal_only_for_roles_with_pii_rights_and_audited(operator_api, role):
    client = operator_api.client(role)
    r = client.get(f"/api/members/{MEMBER}", params={"reveal": "true"})
    entries = audit_entries(operator_api.engine, action="pii.view")
    if not pii_unmasked(role):
        assert_envelope(r, 403, "pii_forbidden")
        assert entries == []
        return
    assert r.status_code == 200
    clear = clear_profile(operator_api)
    assert r.json()["profile"]["phone"] == clear["phone"]
    assert r.json()["profile"]["id_number"] == clear["id_number"]
    assert len(entries) == 1
    e = entries[0]
    assert (e["username"], e["role"], e["action"], e["subject"]) == (role, role, "pii.view", MEMBER)
    assert e["detail"]["view"] == "member_360" and e["at"]


def test_search_masks_phones_and_reveal_is_audited_with_the_members_shown(operator_api):
    clear = clear_profile(operator_api)
    clerk = operator_api.client("clerk")
    found = clerk.get("/api/members", params={"q": clear["phone"]}).json()
    assert [m["member_id"] for m in found["members"]] == [MEMBER]
    assert found["masked"] and MASKED_PHONE.match(found["members"][0]["phone"])
    by_tail = clerk.get("/api/members", params={"q": clear["phone"][-4:]}).json()
    assert MEMBER not in [m["member_id"] for m in by_tail["members"]]  # the last digits: PII roles only (issue 16)
    assert audit_entries(operator_api.engine, action="pii.view") == []

    agent = operator_api.client("agent")
    shown = agent.get("/api/members", params={"q": clear["name"], "reveal": "true"}).json()
    assert clear["phone"] in [m["phone"] for m in shown["members"]]
    [entry] = audit_entries(operator_api.engine, action="pii.view")
    assert entry["username"] == "agent" and entry["detail"]["members"] == [m["member_id"] for m in shown["members"]]
    assert entry["detail"]["query"] == clear["name"]


def test_admin_reads_the_audit_log_others_do_not(operator_api):
    operator_api.client("manager").get(f"/api/members/{MEMBER}", params={"reveal": "true"})
    log = operator_api.client("admin").get("/api/audit", params={"action": "pii.view"}).json()["entries"]
    assert [(e["username"], e["subject"]) for e in log] == [("manager", MEMBER)]
    assert_envelope(operator_api.client("analyst").get("/api/audit"), 403)
