"""Issue 16, item 17: every reveal of personal numbers, exports included, is a ``pii.view`` row naming the members.

The attack: a manager downloads the target list with ``reveal=true`` (every phone number in clear); the audit log
records only ``targets.export`` without member ids, so the PII view (``GET /api/audit?action=pii.view``) does not
show it and nobody can answer "who saw this member's number". Safe answer: a ``pii.view`` row naming the members
(or, for a bulk export, the list and the count), for the target export in the API and the CLI, the outbox, and
``weixi member show --reveal``; a masked view writes none.
"""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from argon2 import PasswordHasher

from tests.api.conftest import MEMBER, make_api
from tests.console import staff_data as sd
from tests.e2e.cli_helpers import runner
from weixi.cli.app import app
from weixi.messaging import service as messaging
from weixi.users import service as users
from weixi.users.service import audit_entries


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    """An API over the scored retention operator with the month's target lists built."""
    data = tmp_path_factory.mktemp("reveal-audit") / "data"
    shutil.copytree(sd.retention(tmp_path_factory), data)
    hasher, users._hasher = users._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        api = make_api(data.parent, data)
    finally:
        users._hasher = hasher
    yield api
    for c in api.clients:
        c.close()
    api.engine.dispose()


@pytest.fixture
def clean_log(lists):
    with lists.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log")
    return lists


def pii_log(api) -> list[dict]:
    r = api.client("admin").get("/api/audit", params={"action": "pii.view"})
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def exported_ids(content: bytes) -> list[str]:
    return [row["member_id"] for row in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))]


def test_a_revealed_target_export_is_a_pii_view_naming_its_members(clean_log):
    api = clean_log
    r = api.client("manager").get(
        f"/api/targets/{sd.SCORED}/export", params={"reveal": "true", "list": "expiring", "group": "all"}
    )
    assert r.status_code == 200, r.text
    ids = exported_ids(r.content)
    assert ids
    [entry] = pii_log(api)
    assert (entry["username"], entry["role"], entry["action"]) == ("manager", "manager", "pii.view")
    d = entry["detail"]
    assert d["view"] == "targets_export" and d["month"] == sd.SCORED and d["lists"] == ["expiring"]
    assert sorted(d["members"]) == sorted(ids) and d["count"] == len(ids) and d["fields"] == ["phone"]


def test_a_masked_target_export_is_not_a_pii_view(clean_log):
    r = clean_log.client("manager").get(f"/api/targets/{sd.SCORED}/export", params={"group": "all"})
    assert r.status_code == 200
    assert pii_log(clean_log) == []
    assert [e["detail"]["reveal"] for e in audit_entries(clean_log.engine, action="targets.export")] == [False]


def test_a_bulk_revealed_export_names_the_list_and_the_count(clean_log, monkeypatch):
    from weixi.members import pii_audit

    monkeypatch.setattr(pii_audit, "MEMBERS_MAX", 3)
    r = clean_log.client("agent").get(
        f"/api/targets/{sd.SCORED}/export", params={"reveal": "true", "group": "all", "format": "xlsx"}
    )
    assert r.status_code == 200
    [entry] = pii_log(clean_log)
    n = audit_entries(clean_log.engine, action="targets.export")[0]["detail"]["rows"]
    assert n > 3
    assert entry["subject"] == f"targets:{sd.SCORED}" and entry["detail"]["count"] == n
    assert entry["detail"]["group"] == "all" and "members" not in entry["detail"]


def test_the_cli_target_export_with_reveal_is_a_pii_view_and_needs_the_database(clean_log, tmp_path):
    api = clean_log
    out = tmp_path / "calls.csv"
    args = [
        "targets",
        "export",
        "--month",
        sd.SCORED,
        "--out",
        str(out),
        "--group",
        "all",
        "--reveal",
        "--data-dir",
        str(api.data_dir),
    ]
    refused = runner.invoke(app, [*args, "--db", str(tmp_path / "nothing.db")])
    assert refused.exit_code == 1 and not out.exists()  # no audit log, no phone numbers in clear
    done = runner.invoke(app, [*args, "--db", str(api.engine.url.database)])
    assert done.exit_code == 0, done.output
    [entry] = pii_log(api)
    assert entry["username"].startswith("cli:") and entry["detail"]["view"] == "targets_export"
    assert sorted(entry["detail"]["members"]) == sorted(exported_ids(out.read_bytes()))


def test_member_show_with_reveal_on_the_cli_is_a_pii_view(operator_api, tmp_path):
    db = str(operator_api.engine.url.database)
    data = str(operator_api.data_dir)
    plain = runner.invoke(app, ["member", "show", MEMBER, "--data", data, "--db", db, "--json"])
    assert plain.exit_code == 0, plain.output
    assert audit_entries(operator_api.engine, action="pii.view") == []
    refused = runner.invoke(
        app, ["member", "show", MEMBER, "--data", data, "--db", str(tmp_path / "x.db"), "--reveal", "--json"]
    )
    assert refused.exit_code == 1 and "audit log" in refused.output
    shown = runner.invoke(app, ["member", "show", MEMBER, "--data", data, "--db", db, "--reveal", "--json"])
    assert shown.exit_code == 0, shown.output
    [entry] = audit_entries(operator_api.engine, action="pii.view")
    assert entry["username"].startswith("cli:") and entry["subject"] == MEMBER
    assert entry["detail"]["view"] == "member_360" and entry["detail"]["members"] == [MEMBER]


def test_a_revealed_outbox_is_a_pii_view_naming_the_members(api):
    for i, member in enumerate(["M0000000011", "M0000000012"]):
        messaging.queue_message(
            api.engine, f"k{i}", "sms", f"1380000000{i}", "您好", purpose="service", member_id=member
        )
    r = api.client("manager").get("/api/outbox", params={"reveal": "true"})
    assert r.status_code == 200 and r.json()["messages"][0]["recipient"].startswith("1380000000")
    [entry] = pii_log(api)
    assert entry["detail"]["view"] == "outbox"
    assert sorted(entry["detail"]["members"]) == ["M0000000011", "M0000000012"]
