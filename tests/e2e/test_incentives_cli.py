"""`weixi incentives ...` and `weixi plan check` on incentive plans, as a user runs them."""

from __future__ import annotations

import csv
import json

from openpyxl import load_workbook

from tests.conftest import ROOT
from tests.e2e.cli_helpers import weixi, weixi_json
from weixi.incentives.synthetic import generate
from weixi.names import display

EXAMPLES = ROOT / "plans" / "examples"
RETENTION = EXAMPLES / "retention-2016.yaml"


def month_files(tmp_path):
    return generate(tmp_path / "in", 12, 300, fmt="csv", bad_rows=True)


def args(files):
    return [
        "--plan",
        RETENTION,
        "--month",
        "2016-01",
        "--orders",
        files["orders"],
        "--targets",
        files["targets"],
        "--roster",
        files["roster"],
    ]


def test_compute_json_has_the_documented_shape(tmp_path):
    out = weixi_json("incentives", "compute", *args(month_files(tmp_path)))
    assert set(out) == {"month", "staff", "rejected", "duplicates", "suspended"} and out["month"] == "2016-01"
    assert out["suspended"] == []
    assert out["duplicates"] == []  # the generated month has no identical copies
    assert len(out["staff"]) == 12
    for s in out["staff"].values():
        assert set(s) == {
            "role",
            "mobile_units",
            "broadband_units",
            "kpi_points",
            "bonus_yuan",
            "kpi",
            "scores",
            "excluded",
            "lines",
        }
        assert all(isinstance(s[k], str) for k in ("mobile_units", "broadband_units", "kpi_points", "bonus_yuan"))
        assert s["bonus_yuan"].count(".") == 1 and len(s["bonus_yuan"].split(".")[1]) == 2
        assert all(set(e) == {"order_id", "reason", "reasons"} for e in s["excluded"])
        assert all(set(r) == {"code", "params"} for e in s["excluded"] for r in e["reasons"])
        assert all(
            l["code"].startswith("incentive_line.") and l["params"]["order"] == l["order_id"] for l in s["lines"]
        )
    assert all(set(r) == {"order_id", "reason", "code", "params"} for r in out["rejected"])
    assert {r["order_id"] for r in out["rejected"]} == {"X1", "O0", "X2"}


def test_statement_is_readable_and_explains_every_yuan(tmp_path):
    files = month_files(tmp_path)
    out = weixi_json("incentives", "compute", *args(files))
    staff_id = max(out["staff"], key=lambda s: len(out["staff"][s]["lines"]))
    text = weixi("incentives", "statement", staff_id, *args(files)).stdout
    assert f"Incentive statement 2016-01 — {staff_id}" in text
    assert f"bonus (yuan)     {out['staff'][staff_id]['bonus_yuan']:>10}" in text
    for line in out["staff"][staff_id]["lines"]:
        assert line["text"] in text
    assert "Not counted" in text


def test_export_csv_and_xlsx_for_payroll(tmp_path):
    files = month_files(tmp_path)
    out = weixi_json("incentives", "compute", *args(files))
    weixi("incentives", "export", "--out", tmp_path / "pay.csv", *args(files))
    with open(tmp_path / "pay.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["staff_id"]: r["bonus_yuan"] for r in rows} == {s: v["bonus_yuan"] for s, v in out["staff"].items()}
    weixi("incentives", "export", "--out", tmp_path / "pay.xlsx", *args(files))
    book = load_workbook(tmp_path / "pay.xlsx")
    assert book.sheetnames == ["statements", "lines", "excluded", "rejected", "duplicates"]
    sheet = list(book["statements"].values)
    # issue 19 §5: the payroll export (XLSX, Chinese headers), roles by name, every line said in Chinese
    assert sheet[0][:7] == ("月份", "员工编号", "岗位", "移动效能", "宽带效能", "KPI分", "奖金（元）")
    assert len(sheet) == 13
    assert {r[1]: r[2] for r in sheet[1:]} == {
        s: display("staff_role", v["role"], "zh_CN") for s, v in out["staff"].items()
    }
    lines = sum(len(v["lines"]) for v in out["staff"].values())
    assert book["lines"].max_row == lines + 1
    said = list(book["lines"].values)
    assert said[0][-1] == "说明" and all(r[-1].startswith(f"订单 {r[1]}（") for r in said[1:])
    first = next(v["lines"][0] for v in out["staff"].values() if v["lines"])
    assert first["params"]["rule_name"] in {r[2] for r in said[1:]}
    rejected = list(book["rejected"].values)
    assert rejected[0] == ("订单号", "行号", "原因") and {r[0] for r in rejected[1:]} == {"X1", "O0", "X2"}
    assert all(isinstance(r[1], int) for r in rejected[1:])


def test_a_repeated_crm_row_counts_once_and_is_listed_as_a_duplicate(tmp_path):
    """A CRM export that repeats an order's row: the order is paid once, the copy is on the `duplicates` list and
    sheet, and nothing is rejected for it."""
    files = month_files(tmp_path)
    once = weixi_json("incentives", "compute", *args(files))
    with open(files["orders"], encoding="utf-8") as fh:
        text = fh.read().splitlines()
    header, first = text[0].split(","), text[2]  # O1 (O0 has a differing copy among the bad rows)
    (files["orders"]).write_text("\n".join(text + [first]) + "\n", encoding="utf-8")
    twice = weixi_json("incentives", "compute", *args(files))
    assert twice["staff"] == once["staff"] and twice["rejected"] == once["rejected"]
    order_id = first.split(",")[header.index("order_id")]
    assert [(d["order_id"], d["code"], d["params"]["first"]) for d in twice["duplicates"]] == [
        (order_id, "incentive_order_duplicate_copy", 3)
    ]
    weixi("incentives", "export", "--out", tmp_path / "pay.xlsx", *args(files))
    rows = list(load_workbook(tmp_path / "pay.xlsx")["duplicates"].values)
    assert rows[0] == ("订单号", "行号", "原因") and rows[1][:2] == (order_id, len(text) + 1)
    assert "与第 3 行完全相同" in rows[1][2]


def test_bad_input_is_an_error_not_a_traceback(tmp_path):
    result = weixi(
        "incentives",
        "compute",
        "--plan",
        RETENTION,
        "--month",
        "2016-01",
        "--orders",
        tmp_path / "missing.csv",
        expect=1,
    )
    assert "orders file" in result.output and "no such file" in result.output and "Traceback" not in result.output
    bad = tmp_path / "o.csv"
    bad.write_text("order_id,staff_id\nO1,S1\n", encoding="utf-8")
    result = weixi("incentives", "compute", "--plan", RETENTION, "--month", "2016-01", "--orders", bad, expect=1)
    assert "missing column(s) business, customer_id, created_at" in result.output
    result = weixi(
        "incentives",
        "compute",
        "--plan",
        EXAMPLES / "seed-as-written" / "cs-reward-scorecard.yaml",
        "--month",
        "2016-01",
        "--orders",
        bad,
        expect=1,
    )
    assert "weights add up to 120%" in result.output


def test_plan_check_reports_the_seed_versions_with_positions():
    result = weixi("plan", "check", *sorted((EXAMPLES / "seed-as-written").glob("*.yaml")), expect=1)
    assert "seed-as-written/cs-reward-scorecard.yaml:10:1: error: weights add up to 120%" in result.output
    assert (
        "seed-as-written/maintenance-scorecard.yaml:11:1: error: grade bands leave scores above 4 and below 5"
        in result.output
    )


def test_score_split_and_discipline_commands(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "staff_id,metric,score\nL1,attitude,9\nL1,skill,9.5\nL1,compliance,9\nL1,cooperation,8\n"
        "W1,attitude,6\nW1,skill,7\nW1,compliance,7\nW1,cooperation,8\n",
        encoding="utf-8",
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "staff_id,name,role,team\nL1,张,team_leader,A\nW1,李,maintenance_worker,A\nA1,王,agent,OB\n", encoding="utf-8"
    )
    out = weixi_json(
        "incentives",
        "score",
        "--plan",
        EXAMPLES / "maintenance-scorecard.yaml",
        "--period",
        "2016-01",
        "--scores",
        scores,
        "--roster",
        roster,
    )
    assert (out["staff"]["L1"]["grade"], out["staff"]["L1"]["bonus_yuan"]) == ("excellent", "500.00")
    assert (out["staff"]["W1"]["total"], out["staff"]["W1"]["grade"], out["staff"]["W1"]["bonus_yuan"]) == (
        "6.9",
        "fair",
        "100.00",
    )
    pay = tmp_path / "pay.csv"
    pay.write_text(
        "txn_id,member_id,card,amount,maintainer,on_shift,paid_on\nT1,M1,timed,300,L1,W1,2016-01-03\n", encoding="utf-8"
    )
    split = weixi_json(
        "incentives",
        "split",
        "--plan",
        EXAMPLES / "member-maintenance-split.yaml",
        "--month",
        "2016-01",
        "--payments",
        pay,
        "--roster",
        roster,
    )
    assert {s: v["base_yuan"] for s, v in split["staff"].items()} == {"L1": "150.00", "W1": "150.00"}
    vio = tmp_path / "v.csv"
    vio.write_text(
        "record_id,staff_id,violation,occurred_on\nV1,A1,morning-meeting-absence,2016-01-04\n", encoding="utf-8"
    )
    out = weixi_json(
        "incentives",
        "compute",
        "--plan",
        EXAMPLES / "ob-discipline.yaml",
        "--month",
        "2016-01",
        "--violations",
        vio,
        "--roster",
        roster,
    )
    assert out["staff"]["A1"]["kpi_points"] == "-1" and out["staff"]["L1"]["kpi_points"] == "0"


def test_publish_diff_and_statement_from_the_database(tmp_path):
    db = tmp_path / "w.db"
    weixi("init", db=db)
    files = month_files(tmp_path)
    weixi("incentives", "publish", *args(files), "--by", "张主任", db=db)
    again = weixi("incentives", "publish", *args(files), "--by", "李四", db=db)
    assert "already published with the same content" in again.stdout
    out = weixi_json("incentives", "diff", *args(files), db=db)
    assert out["changes"] == {} and out["published_by"] == "张主任"
    some = next(iter(json.loads(weixi("incentives", "compute", *args(files), "--json").stdout)["staff"]))
    text = weixi("incentives", "statement", some, "--month", "2016-01", db=db).stdout
    assert "published version 1 by 张主任" in text


def test_awards_publish_refuses_without_a_decider_and_publishes_all_or_none(tmp_path, monkeypatch):
    from datetime import datetime

    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.incentives import publication
    from weixi.incentives import service as svc

    # seed 000: "奖励将在下季度开始前正式宣布和发放": the 2016-Q1 awards are published by 31 March 2016
    monkeypatch.setattr(svc, "now", lambda: datetime.fromisoformat("2016-03-31T12:00:00+08:00"))
    db = tmp_path / "awards.db"
    engine = make_engine(str(db))
    schema.upgrade(engine)
    ids = [
        publication.nominate(engine, "2016-Q1", staff, "excellent", "team lead", "served well")
        for staff in ("S1", "S2")
    ]
    for nid in ids:
        publication.decide(engine, nid, "committee_review", "accept", "committee")
        publication.decide(engine, nid, "leadership_approval", "accept", "director")
    r = weixi("incentives", "awards", "publish", "--period", "2016-Q1", "--by", "", db=db, expect=1)
    assert "say who decides" in r.output and (r.exception is None or isinstance(r.exception, SystemExit))
    real = publication._decide

    def second_fails(conn, nid, *a, **k):
        if nid == ids[1]:
            raise svc.IncentiveError(f"{nid} changed meanwhile")
        return real(conn, nid, *a, **k)

    monkeypatch.setattr(publication, "_decide", second_fails)
    try:
        publication.publish_awards(engine, "2016-Q1", "payroll")
    except svc.IncentiveError:
        pass
    else:
        raise AssertionError("the failure was not raised")
    assert {n["status"] for n in publication.nominations(engine, "2016-Q1")} == {"approved"}  # none published
    monkeypatch.setattr(publication, "_decide", real)
    assert publication.publish_awards(engine, "2016-Q1", "payroll") == sorted(ids)
    engine.dispose()
