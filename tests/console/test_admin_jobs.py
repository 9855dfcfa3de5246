"""The administrator's jobs in the console (issue 18 §1 "Admin", §3 confirmations): upload archive exports, event
files and the roster with the quarantine shown and downloadable in the reader's language; a plan's diff against the
active version, a confirmation, then apply, and a roll back to an earlier version; the monthly close proposing the
month whose inputs are all present and confirming before it starts."""

from __future__ import annotations

import csv
import io
import re

from tests.console import operator as op
from tests.console.conftest import csrf_of
from weixi.users import service as users

BILLS = (
    "账单编号,用户编号,账期,金额\n"
    "B-UP-1,{m},2026-08,88.00\n"
    "B-UP-2,M9999999999,2026-08,10.00\n"  # an unknown member
    "B-UP-3,{m},2026-08,abc\n"  # not an amount
).format(m=op.MEMBER)


def upload(c, kind: str, name: str, body: bytes, encoding: str = "auto", page: str = "/uploads"):
    token = csrf_of(c.get(page).text)
    return c.http.post(
        "/uploads",
        data={"kind": kind, "encoding": encoding, "csrf_token": token},
        files={"data_file": (name, body, "text/csv")},
    )


def _audit(app, action):
    return users.audit_entries(app.state.engine, 20, action)


def test_the_uploads_page_is_in_the_system_menu_for_the_admin_only(console):
    c = console("admin")
    zh = c.get("/uploads")
    assert zh.status_code == 200 and "<h1>数据上传</h1>" in zh.text
    assert 'href="/uploads"' in zh.text and "重复上传同一文件是安全的" in zh.text
    assert "账单" in zh.text and "人员名册" in zh.text  # the kinds by name
    for role in ("analyst", "manager", "agent", "clerk", "member"):
        assert console(role).get("/uploads").status_code == 403, role


def test_a_bill_file_loads_its_good_rows_and_shows_the_quarantine_in_chinese_then_english(console, app):
    c = console("admin")
    r = upload(c, "bills", "账单-8月.csv", BILLS.encode("utf-8"))
    assert r.status_code == 200, r.text
    counts = dict(re.findall(r'<dd id="count-(\w+)">([\d,]+)</dd>', r.text))
    assert counts["rows"] == "3" and counts["accepted"] == "1" and counts["quarantined"] == "2"
    table = re.search(r'<table class="data" id="quarantine">.*?</table>', r.text, re.S).group(0)
    assert "用户编号" in table and "金额" in table  # the file's own column headers, not field codes
    assert "member_id" not in table and "amount_fen" not in table and "intake_" not in table
    assert "M9999999999" in table
    assert re.search(r"[\u4e00-\u9fff]{4,}", re.sub(r"<[^>]+>", " ", table.split("</thead>")[1]))
    report = re.search(r'id="download-report" href="(/uploads/reports/[^"]+)"', r.text).group(1)
    zh_csv = c.get(report)
    assert zh_csv.status_code == 200 and zh_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(zh_csv.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["行号", "字段", "值", "原因"] and "账单编号" in rows[0]
    assert [row[0] for row in rows[1:]] == ["3", "4"] and rows[1][1] == "用户编号"
    assert all(re.search(r"[\u4e00-\u9fff]", row[3]) for row in rows[1:])
    c.get("/lang/en?next=%2Fuploads")
    en_rows = list(csv.reader(io.StringIO(c.get(report).content.decode("utf-8-sig"))))
    assert en_rows[0][:4] == ["Row", "Field", "Value", "Reason"]
    assert not re.search(r"[\u4e00-\u9fff]", en_rows[1][3])  # the reason in English
    entry = _audit(app, "data.load")[0]
    assert entry["subject"] == "账单-8月.csv" and entry["detail"]["accepted"] == 1
    assert entry["detail"]["quarantined"] == 2 and entry["detail"]["kind"] == "bills"
    listed = c.get("/uploads").text
    assert "账单-8月.csv" in listed and report in listed


def test_uploading_the_same_file_again_changes_nothing(console):
    c = console("admin")
    body = BILLS.encode("utf-8")
    assert upload(c, "bills", "bills.csv", body).status_code == 200
    again = upload(c, "bills", "bills.csv", body)
    assert again.status_code == 200 and 'data-status="already_loaded"' in again.text
    assert "已导入过" in again.text and 'id="download-report"' not in again.text


def test_a_gbk_export_is_read_and_a_bad_encoding_or_kind_or_size_is_refused_with_a_reason(console, monkeypatch):
    c = console("admin")
    ok = upload(c, "bills", "gbk.csv", BILLS.encode("gbk"))
    assert ok.status_code == 200 and '<dd id="count-accepted">1</dd>' in ok.text
    wrong = upload(c, "bills", "bills.xlsx", b"PK\x03\x04 not a csv")
    assert wrong.status_code == 422 and 'id="upload-error"' in wrong.text and "bills.xlsx" in wrong.text
    assert "CSV" in wrong.text and "upload_wrong_file_type" not in wrong.text
    assert "请将数据重新导出为 CSV 或 Parquet 文件" in wrong.text  # what to do about it
    bad_utf8 = upload(c, "bills", "bills.csv", BILLS.encode("gbk"), encoding="utf-8")
    assert bad_utf8.status_code == 422 and "UTF-8" in bad_utf8.text and "/tmp/" not in bad_utf8.text
    events_gbk = upload(
        c, "events", "events.csv", "event_id,member_id,type,occurred_at\n事件,M1,bill,x\n".encode("gbk")
    )
    assert events_gbk.status_code == 422 and "UTF-8" in events_gbk.text
    empty = upload(c, "roster", "roster.csv", b"")
    assert empty.status_code == 422 and "文件为空" in empty.text
    from weixi.console import upload_files

    monkeypatch.setattr(upload_files, "MAX_UPLOAD_MB", 0)
    big = upload(c, "bills", "bills.csv", BILLS.encode("utf-8"))
    assert big.status_code == 413 and "超过 0 MB" in big.text
    missing = c.get("/uploads/reports/nothing-000001-deadbeef.csv")
    assert missing.status_code == 404
    assert c.get("/uploads/reports/..%2F..%2Fweixi.db").status_code == 404


def test_an_event_file_posts_and_quarantines_rejected_events_in_the_reader_language(console):
    c = console("admin")
    body = (
        "event_id,member_id,type,occurred_at,amount\n"
        f"UP-E1,{op.MEMBER},recharge,2026-11-20T10:00:00+08:00,50.00\n"
        f"UP-E2,{op.MEMBER},no_such_type,2026-11-20T10:00:00+08:00,50.00\n"
    ).encode()
    r = upload(c, "events", "events.csv", body)
    assert r.status_code == 200, r.text
    assert '<dd id="count-accepted">1</dd>' in r.text and '<dd id="count-quarantined">1</dd>' in r.text
    report = re.search(r'id="download-report" href="(/uploads/reports/events-[^"]+)"', r.text).group(1)
    rows = list(csv.reader(io.StringIO(c.get(report).content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["行号", "字段", "值", "原因"] and rows[1][0] == "3" and "UP-E2" in rows[1]
    assert re.search(r"[\u4e00-\u9fff]", rows[1][3])
    again = upload(c, "events", "events.csv", body)
    assert '<dd id="count-accepted">0</dd>' in again.text and '<dd id="count-duplicates">1</dd>' in again.text


def test_a_roster_loads_and_a_bad_roster_is_refused_whole(console):
    c = console("admin")
    good = upload(c, "roster", "roster.csv", b"staff_id,name,role,team\nUP01,Wang,agent,T1\n")
    assert good.status_code == 200 and '<dd id="count-accepted">1</dd>' in good.text
    bad = upload(c, "roster", "roster.csv", b"staff_id,name\nUP01,Wang\n")
    assert bad.status_code == 422 and 'id="upload-error"' in bad.text and "role" in bad.text


def test_member_recharge_and_complaint_exports_load_and_a_new_member_is_found(console):
    c = console("admin")
    members = "用户编号,姓名,手机号码\nM0000009001,赵新会员,13800009001\nM0000009002,,\n".encode()
    r = upload(c, "members", "members.csv", members)
    assert r.status_code == 200 and '<dd id="count-accepted">1</dd>' in r.text
    assert '<dd id="count-quarantined">1</dd>' in r.text and "姓名" in r.text  # a new member needs a name
    assert c.get("/members/M0000009001").status_code == 200
    recharges = f"充值流水号,用户编号,充值时间,充值金额,充值渠道\nR-UP-1,{op.MEMBER},2026-10-05 10:00:00,50.00,微信\n"
    assert '<dd id="count-accepted">1</dd>' in upload(c, "recharges", "r.csv", recharges.encode()).text
    complaints = f"投诉编号,用户编号,投诉时间,投诉类别\nC-UP-1,{op.MEMBER},2026-10-06 09:00:00,垃圾短信\n"
    assert '<dd id="count-accepted">1</dd>' in upload(c, "complaints", "c.csv", complaints.encode()).text


# -- plans: diff, confirm, apply, roll back -------------------------------------------------------------------------


def _edited() -> str:
    text = op.PLAN.read_text(encoding="utf-8")
    text = text.replace("cost: 800", "cost: 700")  # a reward's cost changes
    text = text.replace("    points: 1\n    per_yuan: 10\n", "    points: 1\n    per_yuan: 5\n", 1)  # the bill rule
    text = text.replace("  - id: bill-credit\n", "  - id: bill-credit-gone\n", 1)  # one reward out, one in
    return text


def test_the_plan_diff_compares_settings_tiers_rules_segments_and_rewards_item_by_item():
    import dataclasses

    from weixi.plans.diff import diff
    from weixi.plans.service import load_checked

    plan, _ = load_checked(op.PLAN)
    assert diff(plan, plan) == []
    tiers = (*plan.tiers[:-1], dataclasses.replace(plan.tiers[-1], qualify=plan.tiers[-1].qualify + 50))
    segments = dataclasses.replace(plan.segments, rfm=None)
    other = dataclasses.replace(
        plan, tiers=tiers, segments=segments, earning=plan.earning[1:], expiry=dataclasses.replace(plan.expiry, n=24)
    )
    changes = {(c.section, c.kind, c.id): c for c in diff(plan, other)}
    assert changes[("settings", "changed", plan.id)].fields[0].field == "expiry.n"
    assert changes[("tiers", "changed", plan.tiers[-1].id)].fields[0].after == plan.tiers[-1].qualify + 50
    assert ("earning", "removed", plan.earning[0].id) in changes
    assert ("segments", "removed", "rfm") in changes
    back = {(c.section, c.kind, c.id) for c in diff(other, plan)}
    assert ("earning", "added", plan.earning[0].id) in back and ("segments", "added", "rfm") in back
    assert [c.kind for c in diff(None, plan)] == ["added"]


def test_every_field_and_coded_value_a_plan_diff_can_show_has_a_name():
    import dataclasses
    import enum

    from weixi.console import plan_diff
    from weixi.plans import diff as plan_diffs
    from weixi.plans import model

    codes, values = set(), set()

    def walk(cls, prefix=""):
        for f in dataclasses.fields(cls):
            if f.name in plan_diffs.SKIPPED:
                continue
            inner = getattr(model, f.type.split(" | ")[0], None) if isinstance(f.type, str) else None
            if inner is not None and dataclasses.is_dataclass(inner) and not prefix:
                walk(inner, f"{f.name}.")
            else:
                codes.add(prefix + f.name)

    rules = [c for c in vars(model).values() if isinstance(c, type) and issubclass(c, model.EarnRule)]
    parts = [model.Tier, model.TierPolicy, model.StarLevels, model.ValuePyramid, model.ActivityGrades, model.Rfm]
    for cls in [*parts, model.KeyAccounts, model.Cap, model.Reward, *rules]:
        walk(cls)
    codes |= {c for c in plan_diffs.SETTINGS if c != "expiry"} | {"expiry.rule", "expiry.n", "plan_id", "type"}
    for c in vars(model).values():
        if isinstance(c, type) and issubclass(c, enum.Enum) and c is not enum.Enum:
            values |= {m.value for m in c}
    values |= {plan_diffs._type_of(c.__new__(c)) for c in rules if c is not model.EarnRule}
    assert codes - set(plan_diff.FIELDS) == set(), codes - set(plan_diff.FIELDS)
    assert values - set(plan_diff.VALUES) == set(), values - set(plan_diff.VALUES)


def test_checking_a_plan_shows_its_changes_by_name_and_asks_to_confirm_before_applying(console, app):
    admin = console("admin")
    r = admin.post_form("/plans", "/plans/check", {"text": _edited(), "name": "telecom-next.yaml"})
    assert r.status_code == 200, r.text
    diff = re.search(r'<div class="plan-diff" id="plan-diff">.*?</table>', r.text, re.S).group(0)
    assert "对照生效中的第 1 版：新增 1 项，删除 1 项，修改 2 项。" in diff
    assert "账单消费积分" in diff and "每满（元）" in diff and "<del>10</del> → <ins>5</ins>" in diff
    assert "话费抵扣1元" in diff and 'data-kind="removed"' in diff and 'data-kind="added"' in diff
    assert "per_yuan" not in diff and "earning" not in diff  # names, not codes
    confirm = re.search(r'<details class="confirm" id="apply-confirm">.*?</details>', r.text, re.S).group(0)
    assert "第 2 版" in confirm and 'id="apply"' in confirm
    r = admin.post_form("/plans", "/plans/apply", {"text": _edited(), "name": "telecom-next.yaml"})
    assert r.status_code == 200 and "现为第 2 版" in r.text
    same = admin.post_form("/plans", "/plans/check", {"text": _edited(), "name": "again.yaml"})
    assert 'id="no-changes"' in same.text
    admin.get("/lang/en?next=%2Fplans")
    en = admin.post_form("/plans", "/plans/check", {"text": op.PLAN.read_text(encoding="utf-8"), "name": "v1.yaml"})
    assert "Against version 2 in force: 1 added, 1 removed, 2 changed." in en.text and "for every (yuan)" in en.text


def test_an_admin_rolls_back_to_an_earlier_version_after_a_confirmation_and_it_is_audited(console, app):
    admin = console("admin")
    admin.post_form("/plans", "/plans/apply", {"text": _edited(), "name": "telecom-next.yaml"})
    page = admin.get("/plans/1")
    assert page.status_code == 200 and 'id="rollback"' in page.text
    assert 'class="breadcrumbs"' in page.text and 'href="/plans"' in page.text
    assert "对照生效中的第 2 版" in page.text and "<del>5</del> → <ins>10</ins>" in page.text
    assert "第 3 版" in re.search(r'<details class="confirm" id="rollback-confirm">.*?</details>', page.text, re.S)[0]
    assert 'id="rollback"' not in admin.get("/plans/2").text  # the version in force
    r = admin.post_form("/plans/1", "/plans/1/rollback", {})
    assert r.status_code == 303 and r.headers["location"].startswith("/plans?done=rollback")
    listed = admin.get(r.headers["location"]).text
    assert "第 1 版的内容已重新生效，成为第 3 版" in listed and "回滚至第 1 版" in listed
    assert "cost: 800" in admin.get("/plans/3").text
    entry = _audit(app, "plan.rollback")[0]
    assert entry["username"] == "admin" and entry["detail"]["to_version"] == 1
    assert entry["detail"]["from_version"] == 2 and entry["detail"]["version"] == 3
    audit = admin.get("/audit?action=plan.rollback").text
    assert "回滚方案" in audit and "目标版本: 1" in audit
    analyst = console("analyst")
    assert 'id="rollback"' not in analyst.get("/plans/1").text
    assert analyst.post_form("/plans/1", "/plans/1/rollback", {}).status_code == 403


# -- the monthly close: the month proposed, a confirmation ----------------------------------------------------------


def _parts(root, table: str, months: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / table).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"month": months}), root / table / "part-00000.parquet")


def test_readiness_proposes_the_next_month_with_all_inputs_and_lists_what_later_months_lack(tmp_path):
    from weixi.close import readiness

    _parts(tmp_path, "members", ["-"])
    _parts(tmp_path, "bills", ["2026-09", "2026-10", "2026-11"])
    _parts(tmp_path, "usage", ["2026-09", "2026-11"])
    _parts(tmp_path, "recharges", ["2026-09"])
    months = readiness.upcoming(tmp_path)
    assert [m.month for m in months] == ["2026-09", "2026-10", "2026-11"]
    assert months[0].ready and months[0].next_in_order and "recharges" in months[0].present
    assert months[1].missing == ("usage",) and not months[1].ready
    assert months[2].ready and not months[2].next_in_order
    assert readiness.proposed(months).month == "2026-09"
    _parts(tmp_path, "usage", ["2026-10", "2026-11"])  # the next month lacks usage: nothing can close now
    months = readiness.upcoming(tmp_path)
    assert months[0].missing == ("usage",) and readiness.proposed(months) is None
    assert readiness.inputs_of(tmp_path / "nowhere", "2026-09").missing == ("members", "bills", "usage")


def test_the_close_page_proposes_the_ready_month_and_shows_what_a_later_month_lacks(console):
    admin = console("admin")
    usage = f"用户编号,账期,通话时长\n{op.MEMBER},2026-11,100\n".encode()  # usage of November, no bills yet
    assert upload(admin, "usage", "usage-11.csv", usage).status_code == 200
    page = admin.get("/close")
    assert page.status_code == 200 and "<h1>月结</h1>" in page.text
    assert "2026-09 可以结账：所需数据均已就绪。" in page.text
    assert 'href="/close/confirm?month=2026-09"' in page.text
    october = re.search(r'<tr data-month="2026-10" data-ready="no">.*?</tr>', page.text, re.S).group(0)
    assert "缺少" not in october and "待 2026-09 结账后" in october  # ready, after September
    row = re.search(r'<tr data-month="2026-11" data-ready="no">.*?</tr>', page.text, re.S).group(0)
    assert row.count("缺少") == 1 and "否：数据不全" in row and "bills" not in row
    analyst = console("analyst").get("/close")
    assert analyst.status_code == 200 and "/close/confirm" not in analyst.text
    assert console("analyst").get("/close/confirm?month=2026-09").status_code == 403


def test_starting_a_close_asks_to_confirm_with_the_month_the_plan_version_and_what_it_writes(console, app):
    admin = console("admin")
    page = admin.get("/close/confirm?month=2026-09")
    assert page.status_code == 200 and 'class="breadcrumbs"' in page.text
    assert '<dd id="confirm-month">2026-09</dd>' in page.text
    assert "电信积分运营方案" in page.text and "第 1 版" in page.text
    assert 'id="confirm-steps"' in page.text and "2026-09 底到期的积分" in page.text
    assert "确认，按第 1 版结账 2026-09" in page.text and 'id="confirm-refusal"' not in page.text
    assert re.search(r"本月共有账单 [\d,]+ 笔、充值 [\d,]+ 笔", page.text)
    skipped = admin.get("/close/confirm?month=2026-11")
    assert "请先结账 2026-09" in skipped.text and 'id="confirm-start"' not in skipped.text
    closed = admin.get(f"/close/confirm?month={op.CLOSED}")
    assert "已结账" in closed.text and 'id="confirm-start"' not in closed.text
    assert admin.get("/close/confirm?month=2026-13").status_code == 422
    admin.get("/lang/en?next=%2Fclose")
    en = admin.get("/close/confirm?month=2026-09").text
    assert "Yes, close 2026-09 with version 1" in en and "What the close writes" in en


def test_a_broken_file_of_any_kind_is_refused_with_a_reason_never_a_server_error(console):
    c = console("admin")
    cases = [
        ("events", "events.parquet", b"PAR1 not parquet at all"),
        ("events", "events.jsonl", b'{"event_id": "x"\nnot json\n'),
        ("roster", "roster.parquet", b"PAR1 garbage"),
        ("bills", "bills.parquet", b"PAR1 garbage"),
        ("members", "members.csv", b"\x00\x01\x02\x03"),
        ("usage", "usage.csv", "列一,列二\n1,2\n".encode()),
    ]
    for kind, name, body in cases:
        r = upload(c, kind, name, body)
        assert r.status_code < 500, (kind, name, r.status_code)
        assert "/tmp/" not in r.text and "weixi-upload-" not in r.text, (kind, name)


# -- the audit log names every action ---------------------------------------------------------------------------------


def test_every_action_and_detail_field_written_to_the_audit_log_has_a_name_on_the_audit_page():
    import ast
    from pathlib import Path

    from weixi.console.audit import ACTIONS, FIELDS

    actions, keys = set(), set()
    for path in (Path(__file__).resolve().parents[2] / "src" / "weixi").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = {
            t.id: n.value.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) == "audit":
                arg = n.args[2] if len(n.args) >= 3 else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    actions.add(arg.value)
                elif isinstance(arg, ast.Name) and arg.id in consts:
                    actions.add(consts[arg.id])
                detail = n.args[4] if len(n.args) >= 5 else None
                for d in ast.walk(detail) if detail is not None else ():
                    if isinstance(d, ast.Dict):
                        keys |= {k.value for k in d.keys if isinstance(k, ast.Constant)}
    assert "data.load" in actions and "plan.rollback" in actions and "to_version" in keys
    assert actions - set(ACTIONS) == set(), sorted(actions - set(ACTIONS))
    assert keys - set(FIELDS) - {"members_omitted"} == set(), sorted(keys - set(FIELDS))


def test_a_version_is_edited_in_the_console_and_its_changes_shown_before_applying(console):
    admin = console("admin")
    version = admin.get("/plans/1")
    assert 'id="edit-version" href="/plans?edit=1#editor"' in version.text
    editor = admin.get("/plans?edit=1")
    assert '<details id="editor" open>' in editor.text and "cost: 800" in editor.text
    assert admin.get("/plans?edit=99").status_code == 404
    r = admin.post_form("/plans?edit=1", "/plans/check", {"text": _edited(), "name": "pasted.yaml"})
    assert 'id="plan-diff"' in r.text and "修改 2 项" in r.text
    assert 'id="edit-version"' not in console("manager").get("/plans/1").text  # managers read plans only
