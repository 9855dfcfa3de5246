"""The close summary shows the month's star-level events (升级/降级 of 星级, ``DATA/close/star_events``, issue 20 §1
"the close emits star-level up/down events") beside its tier events: on the close page's closed months, on a close
job's result and in ``weixi close``'s summary, in Chinese and in English; a month closed before the summary kept them
is counted from its files."""

from __future__ import annotations

import html
import re

import pyarrow as pa
from rich.console import Console as RichConsole

from tests.console import operator as op
from weixi.cli import close as close_cli
from weixi.close import store, summaries
from weixi.console import close as close_page
from weixi.segments.stars import STAR_EVENT_TYPES

MONTH = op.CLOSED


def star_events(data_dir, up: int, down: int) -> None:
    """``up`` members promoted and ``down`` demoted in the closed month, as the close writes them."""
    rows = [("upgraded", 3, 4)] * up + [("downgraded", 5, 4)] * down
    table = pa.table(
        {
            "member_id": [f"M{i:010d}" for i in range(len(rows))],
            "month": [MONTH] * len(rows),
            "event": [r[0] for r in rows],
            "from_star": pa.array([r[1] for r in rows], pa.int8()),
            "to_star": pa.array([r[2] for r in rows], pa.int8()),
            "effective_on": pa.array([None] * len(rows), pa.date32()),
        }
    )
    assert set(table.column_names) == set(STAR_EVENT_TYPES)
    store.write(data_dir, "star_events", MONTH, table)


def kept_before_star_events(monkeypatch) -> None:
    """The month's manifest as a close before star events wrote it: no ``star_events`` in its summary."""
    read = store.read_manifest

    def old(data_dir, month):
        found = read(data_dir, month)
        if found and found.get("summary"):
            found = {**found, "summary": {k: v for k, v in found["summary"].items() if k != "star_events"}}
        return found

    monkeypatch.setattr(close_page.store, "read_manifest", old)


def closed_row(page: str, month: str) -> str:
    table = re.search(r'<table class="data" id="closed">(.*?)</table>', page, re.S).group(1)
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", table, re.S) if f"<td>{month}</td>" in r)
    return html.unescape(row)


def cell(row: str, css: str) -> str:
    return re.sub(r"\s+", " ", re.search(rf'<td class="{css}">(.*?)</td>', row, re.S).group(1)).strip()


def test_star_event_counts_are_read_from_the_months_files_for_a_summary_kept_before_them(operator, monkeypatch):
    star_events(operator.data, up=3, down=1)
    assert summaries.star_event_counts(operator.data, MONTH) == {"downgraded": 1, "upgraded": 3}
    assert summaries.star_event_counts(operator.data, "2026-07") == {}
    assert summaries.with_star_events(operator.data, MONTH, {"members": 1}) == {
        "members": 1,
        "star_events": {"downgraded": 1, "upgraded": 3},
    }
    kept = {"members": 1, "star_events": {"upgraded": 9}}  # what the close counted is what the summary says
    assert summaries.with_star_events(operator.data, MONTH, kept) is kept
    assert summaries.with_star_events(operator.data, MONTH, None) is None


def test_the_close_page_shows_star_level_events_beside_tier_events_in_both_languages(console, operator, monkeypatch):
    star_events(operator.data, up=3, down=1)
    kept_before_star_events(monkeypatch)
    admin = console("admin")
    page = admin.get("/close").text
    assert "<th>星级变动</th>" in page and "<th>等级变动</th>" in page
    assert cell(closed_row(page, MONTH), "star-events") == "降级 1 · 升级 3"
    admin.get("/lang/en?next=%2Fclose")
    page = admin.get("/close").text
    assert "<th>Star level events</th>" in page
    assert cell(closed_row(page, MONTH), "star-events") == "Downgraded 1 · Upgraded 3"


def test_a_month_without_star_events_shows_a_dash(console):
    page = console("admin").get("/close").text
    assert cell(closed_row(page, MONTH), "star-events") == "–"  # the first close: no level to be promoted from


def test_a_close_jobs_result_shows_star_level_events(console, app, operator):
    star_events(operator.data, up=2, down=0)
    job = {"id": "j1", "month": MONTH, "status": "succeeded", "progress": {"steps": 6, "steps_done": 6}}
    job["result"] = {
        "month": MONTH,
        "plan": "p",
        "plan_version": 1,
        "accrual": None,
        "summary": {
            "members": 10,
            "active": 9,
            "points": {"issued": 1, "redeemed": 0, "expired": 0, "outstanding": 1},
            "liability_yuan": "0.01",
            "tier_events": {"upgraded": 4},
        },
    }
    admin = console("admin")

    class Request:
        app = admin.http.app

    context = close_page._context(Request(), job)
    assert context["job"]["result"]["summary"]["star_events"] == {"upgraded": 2}
    from weixi.console.render import environment

    for locale, want in (
        ("zh_CN", "<th>星级变动</th><td>升级: 2</td>"),
        ("en", "<th>Star level events</th><td>Upgraded: 2</td>"),
    ):
        out = environment(locale).get_template("_close_job.html").render(**context, request=None)
        assert want in re.sub(r"\s+", " ", out), locale


def test_weixi_close_prints_star_level_events(operator, monkeypatch):
    star_events(operator.data, up=3, down=2)
    printed = RichConsole(record=True, width=200)
    monkeypatch.setattr(close_cli, "console", printed)
    manifest = store.read_manifest(operator.data, MONTH)
    summary = {k: v for k, v in manifest["summary"].items() if k != "star_events"}  # a close kept before them
    close_cli._print_summary({**manifest, "summary": summary, "already_closed": True}, operator.data)
    text = printed.export_text()
    assert re.search(r"star level events\s*│\s*downgraded: 2  upgraded: 3", text), text


def test_the_apis_closed_months_carry_star_level_events_for_a_summary_kept_before_them(console, operator, monkeypatch):
    star_events(operator.data, up=3, down=1)
    kept_before_star_events(monkeypatch)
    months = console("admin").get("/api/close/months").json()["months"]
    assert next(m for m in months if m["month"] == MONTH)["summary"]["star_events"] == {"downgraded": 1, "upgraded": 3}
