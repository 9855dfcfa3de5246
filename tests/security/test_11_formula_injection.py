"""Issue 16, item 11: a CRM value such as ``=cmd|' /C calc'!A0`` must never become a live formula in an export.

The attack: a city ``=cmd|' /C calc'!A0`` loaded from a CRM file became live formulas in the target-list XLSX and
was raw in the CSV. Safe answer: every CSV and XLSX Weixi writes escapes a text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return with a leading ``'`` (OWASP); numbers stay numbers.

Every export, each fed the payload through the path that feeds it:

1. target lists, API ``GET /api/targets/{month}/export`` CSV and XLSX (city from a members load)
2. target lists, ``weixi targets export`` CSV, XLSX and the incentive format (service ``targets.export_lists``)
3. payroll, API ``GET /api/incentives/{month}/export`` CSV and XLSX, and ``weixi incentives export``
   (roster staff id, CRM order ids, a rejected order)
4. campaign follow-up tasks CSV (``weixi campaign follow-ups``; the note of the campaign plan)
5. retention orders CSV for the incentive engine (``weixi orders export``; an order row)
6. the members-load quarantine CSV (a rejected CRM row)
7. the rejected-events CSV of ``weixi events post``
8. CLV summary and scores CSV (``weixi clv summarise|score --out X.csv``; a customer id)
9. :func:`weixi.members.sources.write_csv_text`
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook

from tests.api.conftest import make_api
from tests.console import staff_data as sd
from weixi.adapters.eventfiles import read_events, write_quarantine
from weixi.adapters.sql import execute
from weixi.campaigns import report as campaign_report
from weixi.campaigns import service as campaigns
from weixi.clv import service as clv
from weixi.incentives import reports as incentive_reports
from weixi.incentives import service as incentives
from weixi.ledger.events import Rejection
from weixi.members.intake import load_file
from weixi.members.sources import write_csv_text
from weixi.operations import orders as ops_orders
from weixi.targets import export
from weixi.targets import service as targets
from weixi.users import service as users

PAYLOAD = "=cmd|' /C calc'!A0"
ESCAPED = "'" + PAYLOAD
VARIANTS = ["+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
TZ = ZoneInfo("Asia/Shanghai")


def live(value) -> bool:
    """A text cell a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")) and not NUMBER.fullmatch(value)


def csv_cells(data: bytes | str | Path) -> list[str]:
    if isinstance(data, Path):
        data = data.read_bytes()
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def assert_csv_safe(data, payload: str | None = PAYLOAD) -> None:
    cells = csv_cells(data)
    assert [c for c in cells if live(c)] == []
    if payload is not None:
        assert "'" + payload in cells  # the value is there, escaped


def assert_xlsx_safe(data: bytes, payload: str | None = PAYLOAD) -> None:
    book = load_workbook(io.BytesIO(data))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert [c.value for c in cells if live(c.value)] == []
    if payload is not None:
        assert "'" + payload in [c.value for c in cells]


def test_the_helper_escapes_text_only():
    from weixi.adapters import spreadsheet

    assert spreadsheet.row([PAYLOAD, *VARIANTS, "北京", -5, Decimal("-1.50"), "-12.50", "+8613800001111", None]) == [
        ESCAPED,
        *("'" + v for v in VARIANTS),
        "北京",
        -5,
        Decimal("-1.50"),
        "-12.50",
        "+8613800001111",
        None,
    ]


# -- 1, 2: target lists ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def poisoned_targets(tmp_path_factory):
    """The scored retention operator, every member's city set to the payload by a CRM members load, lists rebuilt."""
    data = tmp_path_factory.mktemp("formula-targets") / "data"
    shutil.copytree(sd.retention(tmp_path_factory), data)
    ids = export.read(data, sd.SCORED)["member_id"].to_pylist()
    crm = data.parent / "crm-cities.csv"
    with open(crm, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["用户编号", "城市"])
        w.writerows([m, PAYLOAD] for m in ids)
    assert load_file(crm, "members", data=data)["quarantined"] == 0
    targets.build(data, sd.SCORED)
    assert PAYLOAD in export.read(data, sd.SCORED)["city"].to_pylist()  # the payload reached the lists
    hasher, users._hasher = users._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        api = make_api(data.parent, data)
    finally:
        users._hasher = hasher
    yield api
    for c in api.clients:
        c.close()
    api.engine.dispose()


@pytest.mark.parametrize("reveal", [False, True])
def test_target_list_downloads_from_the_api_have_no_live_formula(poisoned_targets, reveal):
    manager = poisoned_targets.client("manager")
    params = {"group": "all", "reveal": str(reveal).lower()}
    r = manager.get(f"/api/targets/{sd.SCORED}/export", params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert_csv_safe(r.content)
    x = manager.get(f"/api/targets/{sd.SCORED}/export", params={**params, "format": "xlsx"})
    assert x.status_code == 200, x.text
    assert_xlsx_safe(x.content)


def test_target_list_files_from_the_cli_have_no_live_formula(poisoned_targets, tmp_path):
    data = poisoned_targets.data_dir
    targets.export_lists(data, sd.SCORED, str(tmp_path / "t.csv"), group="all")
    assert_csv_safe(tmp_path / "t.csv")
    targets.export_lists(data, sd.SCORED, str(tmp_path / "t.xlsx"), group="all")
    assert_xlsx_safe((tmp_path / "t.xlsx").read_bytes())
    targets.export_lists(data, sd.SCORED, str(tmp_path / "i.csv"), fmt="incentive", group="all")
    assert_csv_safe(tmp_path / "i.csv", payload=None)  # customer_id, month, status: no free text, still checked


# -- 3: payroll ----------------------------------------------------------------------------------------------------


@pytest.fixture
def poisoned_payroll(tmp_path):
    api = make_api(tmp_path)
    month_dir = sd.incentives(api.data_dir)
    with open(month_dir / "roster.csv", "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow([PAYLOAD, "员工X", "clerk", "T0", "morning", "2014-01-01", ""])
    sd.add_late_order(month_dir, PAYLOAD, order_id=PAYLOAD)  # paid: a line of the payload's statement
    sd.add_late_order(month_dir, sd.CLERK, order_id=VARIANTS[0])  # paid: a line of the clerk's statement
    with open(month_dir / "orders.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    bad = {"order_id": VARIANTS[2], "staff_id": sd.CLERK, "business": "phone_for_credit", "customer_id": "C1"}
    with open(month_dir / "orders.csv", "a", newline="", encoding="utf-8") as fh:  # rejected: not a time
        csv.writer(fh, lineterminator="\n").writerow([{**bad, "created_at": "yesterday"}.get(c, "") for c in header])
    r = api.client("admin").post(f"/api/incentives/{sd.MONTH}/publish")
    assert r.status_code == 201, r.text
    yield api
    for c in api.clients:
        c.close()
    api.engine.dispose()


def test_payroll_exports_have_no_live_formula(poisoned_payroll, tmp_path):
    analyst = poisoned_payroll.client("analyst")
    r = analyst.get(f"/api/incentives/{sd.MONTH}/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert_csv_safe(r.content)  # the roster's staff id
    x = analyst.get(f"/api/incentives/{sd.MONTH}/export", params={"format": "xlsx"})
    assert x.status_code == 200, x.text
    assert_xlsx_safe(x.content)
    book = load_workbook(io.BytesIO(x.content))
    values = {ws.title: {c.value for row in ws.iter_rows() for c in row} for ws in book.worksheets}
    assert "'" + VARIANTS[0] in values["lines"] and "'" + VARIANTS[2] in values["rejected"]
    statements = incentive_reports.recompute(poisoned_payroll.data_dir, sd.MONTH).to_json()
    incentives.export_statements(statements, tmp_path / "p.csv")  # weixi incentives export
    assert_csv_safe(tmp_path / "p.csv")
    incentives.export_statements(statements, tmp_path / "p.xlsx")
    assert_xlsx_safe((tmp_path / "p.xlsx").read_bytes())


# -- 4: campaign follow-ups -----------------------------------------------------------------------------------------

CAMPAIGN = f"""kind: campaign
campaign: poison
name: 测试活动
window: {{from: 2026-07-01, to: 2026-07-02}}
objectives:
  - {{id: people, metric: participants, target: 4}}
audience:
  source: list
  members: [a, b, c]
budget:
  - {{line: points, points: 10000}}
lottery:
  chances: {{grant: 2}}
  prizes:
    - {{id: pts, name: 50积分, per_day: 2, points: 50}}
follow_ups:
  - {{id: win-back, who: non_participants, action: call, due_days: 7, note: "{PAYLOAD}"}}
"""


def test_campaign_follow_up_file_has_no_live_formula(api, tmp_path):
    when = datetime(2026, 6, 20, 9, tzinfo=TZ)
    c = campaigns.create(api.engine, CAMPAIGN, "poison.yaml", "alice", now=when)["campaign_id"]
    for action, by in (("submit", "alice"), ("approve", "bob"), ("start", "bob")):
        campaigns.act(api.engine, c, action, by, now=when)
    got = campaign_report.follow_ups(api.engine, c, tmp_path / "f.csv")
    assert got["tasks"] >= 1
    assert_csv_safe(tmp_path / "f.csv")


# -- 5: retention orders ----------------------------------------------------------------------------------------


def test_retention_orders_file_has_no_live_formula(api, tmp_path):
    with api.engine.begin() as conn:
        execute(
            conn,
            "INSERT INTO ops_orders (order_id, task_id, staff_id, business, customer_id, number, card, "
            "monthly_rent_fen, network, active, cancels_unexpired_subsidy, offer_id, created_at) "
            "VALUES (?, ?, ?, 'phone_for_credit', ?, ?, 'primary', -5800, '4G', ?, ?, 'phone_for_credit', ?)",
            [PAYLOAD, "T-1", VARIANTS[0], VARIANTS[3], VARIANTS[4], True, False, datetime(2026, 10, 8, 10, tzinfo=TZ)],
        )
    out = ops_orders.export_orders(api.engine, "2026-10", tmp_path / "orders.csv")
    assert out["orders"] == 1
    assert_csv_safe(tmp_path / "orders.csv")
    row = next(csv.DictReader(open(tmp_path / "orders.csv", encoding="utf-8", newline="")))
    assert row["monthly_rent"] == "-58.00"  # a number stays a number


# -- 6: members-load quarantine ---------------------------------------------------------------------------------


def test_members_load_quarantine_file_has_no_live_formula(tmp_path):
    crm = tmp_path / "crm.csv"
    with open(crm, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["用户编号", "手机号码", "城市"])
        w.writerow(["M0000000001", "not-a-phone", PAYLOAD])
        w.writerow([VARIANTS[0], "12", VARIANTS[2]])
    summary = load_file(crm, "members", data=tmp_path / "data", today=date(2026, 4, 10))
    assert summary["quarantined"] == 2 and summary["quarantine_file"]
    assert_csv_safe(tmp_path / "data" / summary["quarantine_file"])


# -- 7: rejected events -------------------------------------------------------------------------------------------


def test_rejected_events_file_has_no_live_formula(tmp_path):
    events = tmp_path / "events.csv"
    with open(events, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["event_id", "member_id", "type", "occurred_at", "amount"])
        w.writerow([PAYLOAD, VARIANTS[0], "bill", "not a time", VARIANTS[2]])
    rejected = [r for r in read_events(events, TZ) if isinstance(r, Rejection)]
    assert rejected
    path = write_quarantine(events, rejected)
    assert_csv_safe(path)


# -- 8: CLV ----------------------------------------------------------------------------------------------------


def test_clv_files_have_no_live_formula(tmp_path):
    tx = pa.table(
        {
            "cust": [PAYLOAD, PAYLOAD, PAYLOAD, "C2", "C2"],
            "day": ["2026-01-05", "2026-02-05", "2026-03-05", "2026-01-10", "2026-02-20"],
            "amt": ["10", "20", "30", "5", "6"],
        }
    )
    summary = clv.summarise_transactions(
        tx, customer="cust", date_col="day", amount="amt", calibration_end=date(2026, 6, 30)
    )
    clv.write_table(summary, tmp_path / "summary.csv")  # weixi clv summarise --out summary.csv
    assert_csv_safe(tmp_path / "summary.csv")
    plain = clv.summarise_transactions(tx, customer="cust", date_col="day", calibration_end=date(2026, 6, 30))
    clv.score_members(plain, params={"r": 0.5, "alpha": 4.0, "a": 2.0, "b": 3.0}, out=tmp_path / "scores.csv")
    assert_csv_safe(tmp_path / "scores.csv")  # weixi clv score --out scores.csv


# -- 9: the CSV text helper ---------------------------------------------------------------------------------------


def test_csv_text_helper_has_no_live_formula():
    assert_csv_safe(write_csv_text([["city"], [PAYLOAD], ["-5"]]))
