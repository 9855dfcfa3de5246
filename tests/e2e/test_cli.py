"""The `weixi` commands end to end: text and --json output, exit status, bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT
from tests.e2e.cli_helpers import events_csv, weixi, weixi_json
from weixi.ledger.expiry import add_months

TELECOM = ROOT / "plans" / "examples" / "telecom-points.yaml"
EXAMPLE_EVENTS = ROOT / "examples" / "telecom-events.csv"
COMMANDS = [
    ["init"],
    ["plan", "check"],
    ["plan", "apply"],
    ["events", "post"],
    ["redeem"],
    ["balance"],
    ["statement"],
    ["expire"],
    ["reverse"],
    ["verify"],
    ["simulate"],
    ["settlement"],
    ["redemption", "cancel"],
    ["redemption", "show"],
]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.db"
    weixi("init", db=path)
    weixi("plan", "apply", TELECOM, db=path)
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_and_json(command):
    out = weixi(*command, "--help").stdout
    assert "--json" in out


def test_commands_refuse_an_uninitialised_database(tmp_path):
    out = weixi_json("balance", "m1", db=tmp_path / "none.db", expect=1)
    assert out["error"]["code"] == "database_not_initialised" and "weixi init" in out["error"]["message"]


class _AtTheExamplesEnd(datetime):
    """The clock at the end of the example file's months: the file's dates are fixed, and a spend is kept off points
    that have expired by today, so the counts below hold only on a fixed day."""

    @classmethod
    def now(cls, tz=None):
        moment = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


def test_post_example_file_counts_and_quarantine(db, tmp_path, monkeypatch):
    monkeypatch.setattr("weixi.ledger.posting.datetime", _AtTheExamplesEnd)
    monkeypatch.setattr("weixi.cli.ledger.datetime", _AtTheExamplesEnd)
    src = tmp_path / "events.csv"
    src.write_bytes(EXAMPLE_EVENTS.read_bytes())
    first = weixi_json("events", "post", src, db=db)
    assert (first["posted"], first["duplicate"], first["rejected"]) == (19, 1, 7)
    quarantine = (tmp_path / "events.csv.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert quarantine[0].endswith(",reason") and len(quarantine) == 8
    assert any(line.startswith("22,BAD-1,") and "negative amount" in line for line in quarantine)
    again = weixi_json("events", "post", src, db=db)
    assert (again["posted"], again["duplicate"], again["rejected"]) == (0, 20, 7)
    text = weixi("events", "post", src, db=db).stdout
    assert "posted 0 / duplicate 20 / rejected 7" in text
    assert weixi_json("verify", db=db)["ok"] is True


def test_event_file_with_missing_columns_is_refused_whole(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,member\nx,y\n", encoding="utf-8")
    out = weixi_json("events", "post", bad, db=db, expect=1)
    assert "missing column(s) member_id, type, occurred_at" in out["error"]["message"]


def test_jsonl_and_parquet_event_files(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jl = tmp_path / "e.jsonl"
    jl.write_text(
        json.dumps(
            {
                "event_id": "j1",
                "member_id": "m",
                "type": "bill",
                "occurred_at": "2026-10-01T10:00:00+08:00",
                "amount": "100",
                "attrs": {"service_type": "mobile"},
            }
        )
        + "\n{not json\n",
        encoding="utf-8",
    )
    out = weixi_json("events", "post", jl, db=db)
    assert (out["posted"], out["rejected"]) == (1, 1) and out["rejections"][0]["row"] == 2
    table = pa.table(
        {
            "event_id": ["p1"],
            "member_id": ["m"],
            "type": ["recharge"],
            "occurred_at": ["2026-10-02T10:00:00+08:00"],
            "amount": ["200"],
            "points": [None],
            "ref": [None],
            "attrs": [None],
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    assert weixi_json("events", "post", tmp_path / "e.parquet", db=db)["posted"] == 1
    assert weixi_json("balance", "m", "--at", "2026-10-31", db=db)["balance"] == 10 + 20


def test_redeem_balance_statement_cancel_reverse_expire_verify(db, tmp_path):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    d1, d2 = today - timedelta(days=200), today - timedelta(days=10)  # 12-month lots: d1's expires first
    d1_expires = add_months(d1, 12)
    weixi(
        "events",
        "post",
        events_csv(
            tmp_path / "e.csv",
            [
                ("b1", "m", "bill", d1.isoformat(), "1500", None, None),
                ("b2", "m", "bill", d2.isoformat(), "800", None, None),
            ],
        ),
        db=db,
    )
    r = weixi_json("redeem", "m", "bill-credit", "--request-id", "req-7", db=db)
    assert r["points"] == 100 and r["details"]["credit_fen"] == 100 and r["duplicate"] is False
    assert r["details"]["lots"] == [["b1", 100]]
    again = weixi_json("redeem", "m", "bill-credit", "--request-id", "req-7", db=db)
    assert again["duplicate"] is True and again["redemption_id"] == r["redemption_id"]
    refused = weixi_json("redeem", "m", "bill-credit", "--qty", "5", db=db, expect=1)
    assert refused["error"]["code"] == "not_enough_points" and refused["error"]["params"]["balance"] == 130
    assert "not enough points: balance 130" in refused["error"]["message"]
    bal = weixi_json("balance", "m", db=db)
    assert bal["balance"] == 50 + 80 and [l["remaining"] for l in bal["lots"]] == [50, 80]
    assert weixi_json("balance", "m", "--at", d1_expires.isoformat(), db=db)["balance"] == 80
    assert weixi_json("balance", "m", "--at", (d1 - timedelta(days=1)).isoformat(), db=db)["balance"] == 0
    cancelled = weixi_json("redemption", "cancel", r["redemption_id"], db=db)
    assert cancelled["status"] == "cancelled"
    rev = weixi_json("reverse", "b2", db=db)
    assert rev["duplicate"] is False
    assert weixi_json("reverse", "b2", db=db)["duplicate"] is True
    st = weixi_json("statement", "m", db=db)
    assert [l["kind"] for l in st["lines"]] == ["earn", "earn", "redeem", "cancel", "reverse"]
    assert st["closing_balance"] == 150 and st["lines"][0]["rule"] == "bill" and st["lines"][0]["plan_version"] == 1
    exp = weixi_json("expire", "--as-of", d1_expires.isoformat(), db=db)
    assert (exp["lots"], exp["points"]) == (1, 150)
    assert weixi_json("expire", "--as-of", d1_expires.isoformat(), db=db)["lots"] == 0
    assert weixi_json("verify", db=db)["ok"] is True
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE lots SET remaining = remaining + 1")
    out = weixi_json("verify", db=db, expect=1)
    assert out["ok"] is False and {m["what"] for m in out["mismatches"]} >= {"lot", "lots-vs-balance"}


def test_unknown_member_and_bad_dates_are_clear_errors(db):
    assert "unknown member nobody" in weixi_json("balance", "nobody", db=db, expect=1)["error"]["message"]
    out = weixi("balance", "nobody", "--at", "2026-02-30", db=db, expect=2)
    assert "is not a date" in out.output


def test_simulate_json_is_the_documented_shape():
    out = weixi_json("simulate", "--plan", TELECOM, "--events", EXAMPLE_EVENTS, "--as-of", "2026-12-31")
    assert set(out) == {"as_of", "members", "rejected", "duplicates"}
    assert out["as_of"] == "2026-12-31" and out["duplicates"] == ["B-2026-10-M004"]
    for m in out["members"].values():
        assert set(m) == {"balance", "earned", "redeemed", "expired", "reversed", "lots"}
        assert m["balance"] == m["earned"] - m["redeemed"] - m["expired"] - m["reversed"]
        assert sum(l["remaining"] for l in m["lots"]) == m["balance"]
        for lot in m["lots"]:
            assert set(lot) == {"earned_on", "expires_on", "remaining"}
    assert {r["event_id"] for r in out["rejected"]} == {f"BAD-{i}" for i in range(1, 8)}
    m001 = out["members"]["M001"]
    assert (m001["earned"], m001["redeemed"], m001["expired"]) == (12 + 9 + 85 + 10, 100, 0)


def test_simulate_reports_plan_errors_with_positions(tmp_path):
    plan = tmp_path / "p.yaml"
    plan.write_text("plan: x\nname: x\nearning:\n  - {id: a, type: spend, per_yaun: 10}\n", encoding="utf-8")
    out = weixi("simulate", "--plan", plan, "--events", EXAMPLE_EVENTS, expect=1)
    assert f"{plan}:4:" in out.stdout and "did you mean 'per_yuan'" in out.stdout


def test_installed_console_script_runs():
    exe = ROOT / ".venv" / "bin" / "weixi"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "weixi"]
    done = subprocess.run(
        [*cmd, "simulate", "--plan", str(TELECOM), "--events", str(EXAMPLE_EVENTS), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["as_of"] == "2026-11-09"  # default: the last event's day
