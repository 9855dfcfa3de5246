"""The member 360's retention context and actions (issue 18 §3) and the archive collected on calls (issue 20 §5;
seed 002: "电话拜访…收集客户生日、兴趣爱好、第二联系方式、QQ及微信等", "客户经理需在关怀过程中对生日日期错误得客户重新进行资料录入";
seed 003: "顾客的姓名、性别、爱好、性格、年龄、生日、家庭情况、职业、收入情况、联系电话")."""

from __future__ import annotations

import html
import re

import pytest

from tests.console import operator as op
from weixi.adapters import archive as archive_files
from weixi.members import archive
from weixi.users import service as users

ROSTER = "staff_id,name,role,team,team_lead,shift\nmanager,王经理,manager,T1,,\nK2,李经理,manager,T2,,\n"


def _text(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert found, element_id
    return html.unescape(found.group(1))


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "agent", "clerk"])
def test_the_member_360_shows_status_retention_context_and_the_actions_the_role_may_take(console, role):
    page = console(role).get(f"/members/{op.MEMBER}").text
    assert 'id="member-status"' in page and ("在网" in page or "离网" in page)
    assert 'id="retention"' in page and 'id="notes"' in page and 'id="manager"' in page
    assert ('id="adjust"' in page) == (role == "admin")
    assert ('id="to-counter"' in page) == (role in ("admin", "clerk"))
    assert ('id="transfer"' in page) == (role in ("admin", "manager"))
    assert ('hx-post="/members/' in page) == (role in ("admin", "manager", "agent"))
    assert 'id="add-note"' in page


def test_adjusting_points_needs_a_reason_posts_once_and_is_audited(console, app):
    admin = console("admin")
    page = admin.get(f"/members/{op.MEMBER}").text
    before = int(_text(page, "balance").replace(",", ""))
    key = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
    form = {"points": "150", "reason": "网络故障补偿", "request_id": key}
    r = admin.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/adjust", form)
    assert r.status_code == 303 and "done=adjusted" in r.headers["location"]
    admin.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/adjust", form)  # the same form again
    page = admin.get(r.headers["location"].split("#")[0]).text
    assert int(_text(page, "balance").replace(",", "")) == before + 150 and "积分已调整" in page
    assert "网络故障补偿" in page  # the reason beside the entry in the history
    entries = users.audit_entries(app.state.engine, action="points.adjust", username="admin")
    assert len(entries) == 1 and entries[0]["detail"]["reason"] == "网络故障补偿"
    r = admin.post_form(
        f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/adjust", {**form, "points": "0", "request_id": "x" * 12}
    )
    assert r.status_code == 422 and "调整 0 积分不会有任何变化" in html.unescape(r.text)
    r = admin.post_form(
        f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/adjust", {"points": "5", "request_id": "y" * 12}
    )
    assert r.status_code == 422  # no reason, no adjustment
    assert (
        console("manager").post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/adjust", form).status_code == 403
    )


def test_a_note_is_kept_with_who_and_when_and_an_empty_one_is_refused(console, app):
    agent = console("agent")
    r = agent.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/notes", {"body": "客户下午三点后方便接电话"})
    assert r.status_code == 303
    page = agent.get(f"/members/{op.MEMBER}").text
    notes = re.search(r'id="note-list">(.*?)</ul>', page, re.S).group(1)
    assert "客户下午三点后方便接电话" in notes and "agent" in notes
    r = agent.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/notes", {"body": "   "})
    assert r.status_code == 422 and "备注内容为空" in html.unescape(r.text)
    assert len(users.audit_entries(app.state.engine, action="member.note")) == 1


def test_the_manager_is_shown_by_name_with_the_transfers_and_changed_on_the_team_page(console, app, tmp_path):
    from weixi.operations import staff, transfer

    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    staff.load_staff(app.state.engine, roster)
    transfer.transfer_member(app.state.engine, app.state.data_dir, op.MEMBER, "K2", "客户搬到城东", "manager")
    manager = console("manager")
    page = manager.get(f"/members/{op.MEMBER}").text
    assert "李经理" in _text(page, "manager-name") and "客户搬到城东" in page
    assert f'href="/team/transfer?member={op.MEMBER}"' in page  # the transfer itself, confirmed, on the team page
    assert f'href="/team/transfer?member={op.MEMBER}"' not in console("agent").get(f"/members/{op.MEMBER}").text


def test_archive_fields_learned_on_a_call_are_stored_audited_and_shown(console, app, operator):
    """Seed 002: on the call the manager collects the birthday, hobbies, second contact, QQ and WeChat and corrects a
    wrong birthday; seed 003 adds personality and family."""
    engine = app.state.engine
    before = archive_files.members_lookup(operator.data, op.MEMBER)
    agent = console("agent")
    fields = {
        "email": "zhang.san@example.com",
        "qq": "123456789",
        "wechat": "zhangsan_88",
        "second_contact": "13900001111",
        "birthday": "1980-05-01",
        "lunar_birthday": "三月初五",
        "hobbies": "钓鱼、乒乓球",
        "personality": "性格直爽,不喜欢推销",
        "family_notes": "女儿在外地读大学",
    }
    r = agent.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/archive", {**fields, "source": "member_360"})
    assert r.status_code == 303 and "done=archived" in r.headers["location"]
    page = html.unescape(agent.get(f"/members/{op.MEMBER}").text)
    for value in (
        "zhang.san@example.com",
        "123456789",
        "钓鱼、乒乓球",
        "女儿在外地读大学",
        "农历三月初五",
        "1980-05-01",
    ):
        assert value in page, value
    history = archive.history(engine, op.MEMBER)
    assert {h["field"] for h in history} == set(fields) and all(h["by"] == "agent" for h in history)
    old = {h["field"]: h["old"] for h in history}
    assert old["birthday"] == str(before["birthday"])  # old -> new kept: the wrong birthday corrected
    entry = users.audit_entries(engine, action="member.archive", username="agent")[0]
    assert entry["subject"] == op.MEMBER and len(entry["detail"]["changes"]) == len(fields)
    r = agent.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/archive", {**fields, "source": "member_360"})
    assert "done=unchanged" in r.headers["location"]  # the same values again: nothing stored
    assert len(archive.history(engine, op.MEMBER)) == len(fields)


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("email", "not-an-address", "不是有效的电子邮箱"),
        ("qq", "01234", "不是有效的QQ号"),
        ("birthday", "2999-01-01", "生日 2999-01-01 不合理"),
        ("lunar_birthday", "十三月初一", "不是有效的农历日期"),
        ("second_contact", "abc", "第二联系方式 不是有效的电话号码"),
    ],
)
def test_a_malformed_archive_value_is_refused_by_its_code_and_nothing_is_stored(console, app, field, value, said):
    agent = console("agent")
    r = agent.post_form(f"/members/{op.MEMBER}", f"/members/{op.MEMBER}/archive", {field: value, "hobbies": "爬山"})
    assert r.status_code == 422 and said in html.unescape(r.text)
    assert archive.history(app.state.engine, op.MEMBER) == []


def test_the_archive_form_is_a_partial_the_task_view_posts_with_htmx(console, app):
    agent = console("agent")
    r = agent.get(f"/members/{op.MEMBER}/archive/form", params={"source": "task", "task_id": "T-1"})
    assert r.status_code == 200 and "<html" not in r.text and 'name="task_id" value="T-1"' in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', agent.get(f"/members/{op.MEMBER}").text).group(1)
    r = agent.http.post(
        f"/members/{op.MEMBER}/archive",
        data={"hobbies": "养花", "source": "task", "task_id": "T-1", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "已保存" in r.text and "<html" not in r.text
    [h] = archive.history(app.state.engine, op.MEMBER)
    assert (h["field"], h["new"], h["source"], h["task_id"]) == ("hobbies", "养花", "task", "T-1")
    assert console("clerk").get(f"/members/{op.MEMBER}/archive/form").status_code == 403


def test_a_masked_second_contact_left_as_shown_is_not_a_change(console, app):
    archive.correct(
        app.state.engine, None, op.MEMBER, {}, {"second_contact": "13900001111"}, __import__("datetime").date.today()
    )
    clerk_view = console("clerk").get(f"/members/{op.MEMBER}").text
    assert "13900001111" not in clerk_view and "139****1111" in clerk_view
