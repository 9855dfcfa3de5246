from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

import weixi.cli  # noqa: F401  (registers every command)
from weixi.cli.app import app

runner = CliRunner()


def weixi(*args, db=None, expect=0):
    env = {"WEIXI_DB": str(db)} if db else {}
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}"
    return result


def weixi_json(*args, db=None, expect=0):
    return json.loads(weixi(*args, "--json", db=db, expect=expect).stdout)


def events_csv(path, rows):
    """rows: (event_id, member, type, occurred_at, amount, ref, attrs) — occurred_at may be a date."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["event_id", "member_id", "type", "occurred_at", "amount", "points", "ref", "attrs"])
        for event_id, member, etype, when, amount, ref, attrs in rows:
            w.writerow(
                [
                    event_id,
                    member,
                    etype,
                    when if "T" in when else when + "T10:00:00+08:00",
                    amount or "",
                    "",
                    ref or "",
                    json.dumps(attrs) if attrs else "",
                ]
            )
    return path
