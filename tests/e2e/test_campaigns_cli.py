"""`weixi campaign ...` end to end on the anniversary draw of seed 000: lifecycle, draws, refusals, report files,
exported draws verified by anyone (and a tampered export refused), follow-ups."""

from __future__ import annotations

import csv
import json

from tests.conftest import ROOT
from tests.e2e.cli_helpers import events_csv, runner, weixi, weixi_json
from weixi.cli.app import app

EXAMPLES = ROOT / "plans" / "examples"
C = "anniversary-draw"
OWNERS = 8


def test_anniversary_draw_from_plan_to_verified_report(tmp_path):
    db = tmp_path / "w.db"
    weixi("init", db=db)
    weixi("plan", "apply", EXAMPLES / "telecom-points.yaml", db=db)
    owners = [(f"s{i}", f"o{i:02d}", "signup", "2015-06-01", None, None, None) for i in range(OWNERS)]
    weixi("events", "post", events_csv(tmp_path / "e.csv", owners), db=db)
    created = weixi_json("campaign", "create", EXAMPLES / f"{C}.yaml", "--by", "alice", db=db)
    assert created["status"] == "draft"
    again = weixi_json("campaign", "create", EXAMPLES / f"{C}.yaml", "--by", "alice", db=db, expect=1)
    assert again["error"]["code"] == "campaign_exists" and again["error"]["params"] == {"campaign": C}
    weixi("campaign", "submit", C, "--by", "alice", "--at", "2015-06-10T09:00:00+08:00", db=db)
    own = weixi_json("campaign", "approve", C, "--by", "alice", "--at", "2015-06-10T09:00:00+08:00", db=db, expect=1)
    assert own["error"]["code"] == "campaign_four_eyes" and "another person must approve" in own["error"]["message"]
    approved = weixi_json("campaign", "approve", C, "--by", "bob", "--at", "2015-06-11T09:00:00+08:00", db=db)
    assert len(approved["commitment"]) == 64 and approved["seed"] is None
    started = weixi_json("campaign", "start", C, "--by", "bob", "--at", "2015-06-20T18:00:00+08:00", db=db)
    assert started["audience"]["treatment"] + started["audience"]["control"] == OWNERS
    drawn = []
    for i in range(OWNERS):
        result = weixi_json_any("campaign", "draw", C, f"o{i:02d}", "--at", "2015-06-21T15:30:00+08:00", db=db)
        if "error" in result:
            assert (
                result["error"]["code"] == "campaign_member_held_out" and "control group" in result["error"]["message"]
            )
        else:
            drawn.append(result)
    assert drawn and all(d["tickets"] == 198 - k for k, d in enumerate(drawn))  # 198 tickets a day, one leaves per draw
    twice = weixi_json(
        "campaign", "draw", C, drawn[0]["member_id"], "--at", "2015-06-21T16:00:00+08:00", db=db, expect=1
    )
    assert twice["error"]["code"] == "campaign_no_chances_left" and "1 granted" in twice["error"]["message"]
    unknown = weixi_json("campaign", "draw", C, "nobody", "--at", "2015-06-21T16:00:00+08:00", db=db, expect=1)
    assert (
        unknown["error"]["code"] == "campaign_unknown_member" and "unknown member nobody" in unknown["error"]["message"]
    )
    late = weixi_json("campaign", "draw", C, "o07", "--at", "2015-06-23T10:00:00+08:00", db=db, expect=1)
    assert late["error"]["code"] == "campaign_window_over" and late["error"]["params"]["end"] == "2015-06-22"
    stock = weixi_json("campaign", "stock", C, "--day", "2015-06-21", db=db)
    assert sum(r["quantity"] for r in stock) == 198 and sum(r["issued"] for r in stock) == len(drawn)
    weixi("campaign", "measure", C, "satisfaction", "4.6", "--by", "survey-team", db=db)
    weixi("campaign", "cost", C, "staff", "1200", "--by", "finance", db=db)
    closed = weixi_json("campaign", "close", C, "--by", "bob", "--at", "2015-06-23T09:00:00+08:00", db=db)
    assert closed["status"] == "closed" and len(closed["seed"]) == 64
    assert weixi_json("campaign", "verify-draws", C, db=db)["ok"]
    export = tmp_path / "draws.json"
    weixi("campaign", "export-draws", C, "--out", export, db=db)
    assert weixi_json("campaign", "verify-draws", "--file", export)["draws"] == len(drawn)
    doc = json.loads(export.read_text(encoding="utf-8"))
    doc["draws"][0]["prize_id"] = "grand" if doc["draws"][0]["prize_id"] != "grand" else "first"
    export.write_text(json.dumps(doc), encoding="utf-8")
    bad = weixi_json("campaign", "verify-draws", "--file", export, expect=1)
    assert not bad["ok"] and "draw 1" in bad["problems"][0]["message"]
    weixi("campaign", "evaluate", C, "--by", "carol", db=db)
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    report = weixi_json("campaign", "report", C, "--html", html, "--pdf", pdf, db=db)
    assert report["frozen"] and report["participants"] == len(drawn)
    by = {o["id"]: o for o in report["objectives"]}
    assert by["visitors"]["target"] == "396" and by["visitors"]["actual"] == str(len(drawn))
    assert by["satisfaction"]["actual"] == "4.6" and by["satisfaction"]["source"] == "recorded"
    assert by["satisfaction"]["recorded_by"] == "survey-team"
    gifts = next(l for l in report["budget"]["lines"] if l["line"] == "gifts")
    assert gifts["planned_yuan"] == "58900.00"
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") >= 3 and "到访抽奖人数" in page and report["lottery"]["commitment"] in page
    assert pdf.read_bytes().startswith(b"%PDF-") and len(pdf.read_bytes()) > 2000
    tasks = weixi_json("campaign", "follow-ups", C, "--out", tmp_path / "f.csv", db=db)
    winners = {d["member_id"] for d in drawn if d["prize_id"]}
    assert tasks["by_follow_up"] == {"thank-winners": len(winners)}
    with open(tmp_path / "f.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["member_id"] for r in rows} == winners and {r["due_on"] for r in rows} == {"2015-06-25"}


def weixi_json_any(*args, db=None):
    """A draw of a member who may be in the control group: exit 0 with the draw or 1 with the refusal."""
    got = runner.invoke(app, [str(a) for a in args] + ["--json"], env={"WEIXI_DB": str(db)})
    assert got.exit_code in (0, 1), got.output
    return json.loads(got.stdout)


def test_plan_check_reports_the_seed_table_as_written():
    out = weixi("plan", "check", EXAMPLES / "seed-as-written" / "anniversary-draw.yaml", expect=1).output
    assert "add up to 198" in out and "says 200" in out
