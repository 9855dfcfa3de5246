"""Issue 20 "Done means": the care calendar past its package answers today. chinese-calendar 1.11.0 stops at 2026;
the care page's "2027-02" link answers 200, marked provisional (the badge, the note naming the year, each day's
cell), in Chinese and in English, with the Spring Festival (除夕 2027-02-05) computed from the lunar calendar; the
CLI's ``weixi care calendar --month 2027-02`` (packaged plan) says the same."""

from __future__ import annotations

import re

import pytest

from tests.console import operator as op
from tests.console.conftest import Console
from tests.e2e.cli_helpers import weixi, weixi_json
from weixi.api.app import create_app
from weixi.operations import calendar
from weixi.users import service as users

NOTE = {
    "en": "The State Council's holiday notice for 2027 is not declared yet",
    "zh_CN": "2027 年国务院节假日安排通知尚未录入",
}
BADGE = {"en": "Provisional", "zh_CN": "暂定"}


@pytest.fixture
def agent(tmp_path, monkeypatch):
    monkeypatch.setattr(users, "_hasher", op.cheap_hasher())
    data = tmp_path / "data"
    data.mkdir()
    app = create_app(str(tmp_path / "care.db"), str(data), secure_cookies=False)
    users.create_user(app.state.engine, "agent", op.PASSWORD, "agent")
    client = Console(app).login("agent")
    yield client
    client.http.close()
    app.state.engine.dispose()


def test_the_package_does_not_cover_2027():
    assert calendar.source_of(2027) == "provisional"  # else this file tests nothing past the package


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_care_pages_2027_02_link_answers_provisional_in_both_languages(agent, lang):
    agent.http.cookies.set("weixi_lang", lang)
    jan = agent.get("/care?month=2027-01")
    assert jan.status_code == 200 and 'href="/care?month=2027-02"' in jan.text  # the page's own link
    feb = agent.get("/care?month=2027-02")
    assert feb.status_code == 200
    badge = re.search(r'<span class="badge provisional" id="calendar-provisional">([^<]*)</span>', feb.text)
    assert badge and badge.group(1) == BADGE[lang]
    assert NOTE[lang] in feb.text
    cells = re.findall(r'<td class="([^"]*)" data-date="2027-02-(\d\d)">', feb.text)
    assert len(cells) == 28 and all("provisional" in c for c, _ in cells)
    eve = re.search(r'<td class="([^"]*)" data-date="2027-02-05">(.*?)</td>', feb.text, re.S)
    assert "rest" in eve.group(1) and "春节" in eve.group(2)


def test_weixi_care_calendar_2027_02_with_the_packaged_plan(tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("WEIXI_OPS_PLAN", raising=False)
    days = weixi_json("care", "calendar", "--month", "2027-02")
    assert len(days) == 28 and {d["calendar"] for d in days} == {"provisional"}
    assert [o["id"] for o in days[4]["occasions"]] == ["spring_festival"] and days[4]["lunar"] == "农历腊月廿九"
    text = weixi("care", "calendar", "--month", "2027-02").stdout
    assert "2027: provisional calendar" in text and re.search(r"2027-02-05\s+rest \(provisional\)", text)
