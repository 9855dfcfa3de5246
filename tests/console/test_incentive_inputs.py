"""Upload a month's incentive inputs on the compute-and-publish page (issue 18 §1: the analyst/admin "compute,
diff and publish an incentive month" with no step on the command line): checked by the compute's own loaders,
the bad rows by row and field in the reader's language, the good rows kept, nothing half-written, audited."""

from __future__ import annotations

import csv
import io
import re

from tests.console import staff_data as sd
from weixi.adapters.sql import execute

PAGE = "/incentives/publish"


def upload(c, month: str, kind: str, name: str, body: bytes, page: str = PAGE):
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get(page).text).group(1)
    return c.http.post(
        "/incentives/inputs",
        data={"month": month, "kind": kind, "csrf_token": token},
        files={"data_file": (name, body, "text/csv")},
    )


def orders_with(month_dir, extra: list[dict]) -> bytes:
    """The month's orders file with ``extra`` rows appended (columns by name; the rest empty)."""
    with open(month_dir / "orders.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerows(rows)
    w.writerows([[r.get(c, "") for c in rows[0]] for r in extra])
    return out.getvalue().encode("utf-8")


LATE = {
    "order_id": "NEW1",
    "staff_id": sd.CLERK,
    "business": "phone_for_credit",
    "customer_id": "C-NEW",
    "card": "primary",
    "monthly_rent": "58",
    "network": "4G",
    "active": "true",
    "cancels_unexpired_subsidy": "false",
    "created_at": "2016-01-30T17:00:00+08:00",
}


def left_over(data_dir) -> list:
    return [p.name for p in data_dir.iterdir() if p.name.startswith(".incentive-upload-")]


def test_an_admin_uploads_the_orders_bad_rows_listed_good_rows_counted(console, operator, app):
    month_dir = sd.incentives(operator.data)
    admin = console("admin")
    before = admin.get(PAGE).text
    staff_before = re.search(r'id="computed-staff">(\d+)<', before).group(1)
    assert 'id="upload-form"' in before and "核对并上传" in before
    bad = {**LATE, "order_id": "BAD1", "business": "lottery_ticket"}
    body = orders_with(month_dir, [LATE, bad, LATE])  # a good new order, an unknown business, an exact copy
    r = upload(admin, "2016-01", "orders", "1月订单.csv", body)
    assert r.status_code == 200, r.text
    page = r.text
    assert "1月订单.csv 已成为本月的订单（CRM 维系订单）" in page
    rows = len(body.decode().strip().splitlines()) - 1
    assert f"已安装：{rows} 行中 {rows - 2} 行计入" in page and "1 行未计入" in page
    assert "1 行与前面的某行完全相同" in page
    # the rejected row by its row (the CSV line), field and the reason in Chinese; the copy with the row it repeats
    table = page[page.index('id="upload-rows"') :]
    assert re.search(rf'<td class="n">{rows}</td><td>business</td><td>BAD1</td><td>[^<]*lottery_ticket', table)
    assert re.search(rf'<td class="n">{rows + 1}</td><td>order_id</td><td>NEW1</td>', table)
    assert (month_dir / "orders.csv").read_bytes() == body  # installed whole
    assert re.search(r'id="computed-staff">(\d+)<', page).group(1) == staff_before  # the month computed with it
    with app.state.engine.connect() as conn:
        ((subject, detail),) = execute(conn, "SELECT subject, detail FROM audit_log WHERE action = 'incentives.upload'")
    assert subject == "2016-01/1月订单.csv" and f'"accepted": {rows - 2}' in detail and '"quarantined": 1' in detail
    assert left_over(operator.data) == []


def test_a_file_the_compute_cannot_use_changes_nothing(console, operator):
    month_dir = sd.incentives(operator.data)
    kept = (month_dir / "orders.csv").read_bytes()
    admin = console("admin")
    r = upload(admin, "2016-01", "orders", "orders.csv", b"order_id,staff_id\nO1,S000001\n")
    assert r.status_code == 422 and 'id="upload-error"' in r.text
    assert "business" in r.text and "本月原有的文件保持不变" in r.text
    assert (month_dir / "orders.csv").read_bytes() == kept

    roster = (month_dir / "roster.csv").read_text(encoding="utf-8").splitlines()
    roster.append("S999999,新人,wizard,T0,,2015-01-01,")
    r = upload(admin, "2016-01", "roster", "roster.csv", "\n".join(roster).encode("utf-8"))
    assert r.status_code == 422
    table = r.text[r.text.index('id="upload-rows"') :]
    assert re.search(rf'<td class="n">{len(roster)}</td><td>role</td><td></td><td>[^<]*wizard', table)
    assert "\n".join(roster) not in (month_dir / "roster.csv").read_text(encoding="utf-8")

    r = upload(admin, "2016-01", "orders", "orders.xlsx", b"PK\x03\x04")
    assert r.status_code == 422 and ".csv" in r.text and ".parquet" in r.text
    assert (month_dir / "orders.csv").read_bytes() == kept
    assert left_over(operator.data) == []


def test_a_new_month_takes_the_latest_plans_and_its_own_orders(console, operator):
    month_dir = sd.incentives(operator.data)
    admin = console("admin")
    feb = {**LATE, "created_at": "2016-02-03T10:00:00+08:00"}
    body = orders_with(month_dir, [])
    lines = body.decode().splitlines()
    header = lines[0].split(",")
    body = (lines[0] + "\n" + ",".join(feb.get(c, "") for c in header) + "\n").encode("utf-8")
    r = upload(admin, "2016-02", "orders", "orders.csv", body)
    assert r.status_code == 200, r.text
    assert "2016-02 还没有方案：沿用 2016-01 的方案" in r.text
    new = operator.data / "incentives" / "2016-02"
    assert (new / "orders.csv").read_bytes() == body
    assert sorted(p.name for p in new.glob("*.yaml")) == sorted(p.name for p in month_dir.glob("*.yaml"))
    assert '<option value="2016-02" selected>' in r.text


def test_english_and_who_may_upload(console, operator):
    sd.incentives(operator.data)
    admin = console("admin")
    admin.get("/lang/en")
    r = upload(admin, "2016-01", "targets", "targets.csv", b"customer_id,month,status\nC1,2016-01,maybe\n")
    assert r.status_code == 422
    assert "Nothing was changed: the month keeps the file it had." in r.text
    assert re.search(r'<td class="n">2</td><td>status</td><td></td><td>[^<]*maybe', r.text)
    analyst = console("analyst")  # computes, does not publish: no upload
    assert 'id="upload-form"' not in analyst.get(PAGE).text
    assert upload(analyst, "2016-01", "targets", "t.csv", b"customer_id,month,status\n").status_code == 403
