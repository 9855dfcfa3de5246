"""Retention pages in-process: the risk distribution and reasons are the scores file's, the model page embeds
the report's charts and metrics, target-list filters filter and the export links download what the page
shows, the lift lies inside its interval; roles see only their pages."""

from __future__ import annotations

import csv
import io
import re
import shutil
import warnings

import pyarrow.parquet as pq
import pytest

from tests.console import operator as op
from tests.console import staff_data as sd
from tests.console.conftest import Console
from weixi.api.app import create_app
from weixi.churn import service as churn
from weixi.churn.score import scores_path
from weixi.targets import reports as retention_reports
from weixi.targets import service as targets
from weixi.users import service as users

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
M = sd.SCORED


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The console over the scored operator (a copy), with one login per role."""
    root = tmp_path_factory.mktemp("retention-pages")
    shutil.copytree(sd.retention(tmp_path_factory), root / "data")
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    app = create_app(str(root / "console.db"), str(root / "data"), secure_cookies=False)
    try:
        for role, username in op.LOGINS.items():
            users.create_user(app.state.engine, username, op.PASSWORD, role, op.MEMBER if role == "member" else None)
    finally:
        users._hasher = hasher
    app.scores = pq.read_table(scores_path(root / "data", M))
    yield app
    app.state.engine.dispose()


def login(app, role: str) -> Console:
    return Console(app).login(role)


def nav_of(html: str) -> list[str]:
    block = re.search(r'<nav class="main".*?</nav>', html, re.S)
    return re.findall(r'data-nav="([^"]+)"', block.group(0)) if block else []


def rows(html: str) -> list[dict]:
    return [
        dict(re.findall(r'data-(member|list|decile|manager|segment|group)="([^"]*)"', tr))
        for tr in re.findall(r'<tr data-member="[^>]*>', html)
    ]


def test_risk_page_numbers_are_the_scores(site):
    c = login(site, "manager")
    html = c.get("/retention").text
    n = site.scores.num_rows
    assert re.search(r'id="risk-summary".*?data-members="(\d+)"', html, re.S).group(1) == str(n)
    deciles = re.findall(r'<tr data-decile="(\d+)"><td>\d+</td><td class="n" data-members="(\d+)"', html)
    assert [int(d) for d, _ in deciles] == list(range(1, 11)) and sum(int(m) for _, m in deciles) == n
    firsts = dict(re.findall(r'<tr data-feature="([^"]+)">.*?data-first="(\d+)"', html, re.S))
    want = {}
    for f in site.scores["reason_feature_1"].to_pylist():
        if f:
            want[f] = want.get(f, 0) + 1
    assert {k: int(v) for k, v in firsts.items() if int(v)} == want
    data = c.get(f"/retention/{M}/data.json").json()
    assert sum(data["bins"]["series"][0]["values"]) == n and len(data["deciles"]["labels"]) == 10
    high = c.get("/retention", params={"band": "high"}).text
    band = retention_reports.reasons(site.state.data_dir, M, "high")
    assert f'data-members="{band["reasons"][0]["members"]}"' in high
    assert 'href="/retention/models/1"' in html


def test_model_page_embeds_the_reports_charts_and_metrics(site):
    c = login(site, "analyst")
    meta = churn.model_info(site.state.data_dir, 1)
    html = c.get("/retention/models/1").text
    assert f'data-auc="{meta["metrics"]["auc"]}"' in html
    charts = re.findall(
        r'id="chart-(\w+)" data-kind="\w+" data-key="(\w+)" data-src="/retention/models/1/data.json"', html
    )
    assert sorted(k for k, _ in charts) == ["calibration", "importance", "lift"]
    data = c.get("/retention/models/1/data.json").json()
    assert len(data["lift"]["lift"]) == len(meta["lift"]) and data["importance"]["labels"]
    assert 'href="/api/churn/models/1/report"' in html
    assert c.get("/retention/models/7").status_code == 404


def test_target_filters_filter_and_exports_match_the_page(site):
    c = login(site, "agent")
    agent_nav = nav_of(c.get("/targets").text)
    assert "/targets" in agent_nav and "/retention" not in agent_nav  # agents work the lists, not the model
    assert c.get("/retention").status_code == 403
    everyone = c.get("/targets", params={"group": "all"}).text
    total = int(re.search(r'data-total="(\d+)"', everyone).group(1))
    assert total == targets.targets(site.state.data_dir, M).num_rows
    expiring = c.get("/targets", params={"list": "expiring"}).text
    got = rows(expiring)
    assert got and {r["list"] for r in got} == {"expiring"} and {r["group"] for r in got} == {"treatment"}
    high = rows(c.get("/targets", params={"band": "high", "group": "all"}).text)
    assert high and all(1 <= int(r["decile"]) <= 2 for r in high)
    manager = rows(everyone)[0]["manager"]
    mine = rows(c.get("/targets", params={"manager": manager, "group": "all"}).text)
    assert mine and {r["manager"] for r in mine} == {manager}
    link = re.search(r'href="(/targets/[^"]+/export\?[^"]*format=csv[^"]*)"', expiring).group(1).replace("&amp;", "&")
    assert "list=expiring" in link
    download = c.get(link)
    assert download.status_code == 200
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["优先级", "会员"]  # the page's language
    assert [r[1] for r in table[1:]][: len(got)] == [r["member"] for r in got]


def test_the_lift_is_shown_with_its_interval(site):
    c = login(site, "manager")
    assert 'hx-get="/targets/2026-08/evaluation"' in c.get("/targets").text
    part = c.get(f"/targets/{M}/evaluation").text
    want = targets.evaluate(site.state.data_dir, M, fit_uplift=False)["overall"]
    lift = float(re.search(r'data-lift="([^"]+)"', part).group(1))
    lo, hi = (float(x) for x in re.search(r'data-ci="([^"]+)"', part).group(1).split(","))
    assert lift == pytest.approx(want["lift"]) and lo <= lift <= hi and [lo, hi] == pytest.approx(want["lift_ci95"])
    not_yet = c.get("/targets/2026-10/evaluation").text
    assert 'id="evaluation-error"' in not_yet


def test_roles_without_the_permission_are_refused(site):
    clerk = login(site, "clerk")
    assert "/targets" not in nav_of(clerk.get("/incentives").text)
    for path in ("/targets", "/retention", f"/retention/{M}/data.json", "/retention/models/1"):
        assert clerk.get(path).status_code == 403, path
    english = login(site, "analyst")
    english.http.cookies.set("weixi_lang", "en")
    assert "Risk distribution" in english.get("/retention").text
    assert "风险分布" in login(site, "analyst").get("/retention").text
