"""The archive staff collect and their notes over the API (issue 20 §5, seed 002: "收集客户生日、兴趣爱好、第二联系方式、QQ及微信等";
seed 003: "爱好、性格、…家庭情况"): the same checks and audit as the member 360."""

from __future__ import annotations

import shutil

import pytest

from tests.api.conftest import MEMBER, assert_envelope, make_api
from weixi.users import service as users


@pytest.fixture
def api_with_archive(tmp_path, operator_dir):
    data = tmp_path / "data"
    shutil.copytree(operator_dir, data)
    built = make_api(tmp_path, data)
    yield built
    for c in built.clients:
        c.close()
    built.engine.dispose()


def test_an_agent_corrects_the_archive_and_reads_it_back_with_its_history(api_with_archive):
    api = api_with_archive
    agent = api.client("agent")
    r = agent.patch(
        f"/api/members/{MEMBER}/archive",
        json={
            "fields": {"qq": "123456789", "hobbies": "钓鱼", "second_contact": "13900001111"},
            "source": "task",
            "task_id": "2026-09/care/M0000000002",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["changed"]) == ["hobbies", "qq", "second_contact"]
    assert body["fields"]["qq"] == "123456789" and body["fields"]["second_contact"] == "13900001111"  # agent: clear
    assert {h["source"] for h in body["history"]} == {"task"}
    clerk_view = api.client("clerk").get(f"/api/members/{MEMBER}/archive").json()
    assert clerk_view["fields"]["second_contact"] == "139****1111"  # a clerk sees it masked, history too
    assert all("13900001111" not in str(h) for h in clerk_view["history"])
    again = agent.patch(f"/api/members/{MEMBER}/archive", json={"fields": {"qq": "123456789"}})
    assert again.json()["changed"] == []  # nothing new: nothing stored
    entries = users.audit_entries(api.engine, action="member.archive")
    assert len(entries) == 1 and entries[0]["username"] == "agent"


def test_a_malformed_value_is_422_with_its_code_and_nothing_is_stored(api_with_archive):
    api = api_with_archive
    r = api.client("manager").patch(
        f"/api/members/{MEMBER}/archive", json={"fields": {"hobbies": "爬山", "email": "not-an-address"}}
    )
    assert_envelope(r, 422, "archive_email_invalid")
    assert api.client("manager").get(f"/api/members/{MEMBER}/archive").json()["history"] == []
    assert_envelope(api.client("clerk").patch(f"/api/members/{MEMBER}/archive", json={"fields": {"qq": "12345"}}), 403)
    assert_envelope(api.client("admin").get("/api/members/M9999999999/archive"), 404, "unknown_member")


def test_notes_are_added_and_listed_newest_first(api_with_archive):
    api = api_with_archive
    clerk = api.client("clerk")
    assert clerk.post(f"/api/members/{MEMBER}/notes", json={"body": "第一次来厅"}).status_code == 201
    assert clerk.post(f"/api/members/{MEMBER}/notes", json={"body": "带家人办理宽带"}).status_code == 201
    notes = clerk.get(f"/api/members/{MEMBER}/notes").json()["notes"]
    assert [n["body"] for n in notes] == ["带家人办理宽带", "第一次来厅"] and notes[0]["by"] == "clerk"
    assert_envelope(api.client("member").post(f"/api/members/{MEMBER}/notes", json={"body": "x"}), 403)
