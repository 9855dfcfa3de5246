"""The analyst's retention jobs in the console, in-process (issue 18 §1 "Analyst", §3 charts): train, score and build
from the forms (a background job whose page shows its steps and results), the model report's charts in the
reader's language, the target lists filtered by list, band, manager and tier, paged with a total and exported with
the page's headers in yuan; the dashboard's date range and click-through links. Every step is audited."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
import warnings
from pathlib import Path

import pytest

from tests.console import operator as op
from tests.console import staff_data as sd
from tests.console.conftest import Console
from weixi.adapters.sql import execute
from weixi.api.app import create_app
from weixi.churn import store
from weixi.targets import jobs, listing
from weixi.targets import service as targets
from weixi.users import service as users

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
M = sd.SCORED
TRAIN = "2026-10"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The console over the six-month operator with no model, no scores and no lists yet."""
    root = tmp_path_factory.mktemp("analyst-jobs")
    shutil.copytree(sd.retention(tmp_path_factory), root / "data")
    for gone in ("models", "churn", "targets"):
        shutil.rmtree(root / "data" / gone, ignore_errors=True)
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    app = create_app(str(root / "console.db"), str(root / "data"), secure_cookies=False)
    try:
        for role, username in op.LOGINS.items():
            users.create_user(app.state.engine, username, op.PASSWORD, role, op.MEMBER if role == "member" else None)
    finally:
        users._hasher = hasher
    yield app
    app.state.engine.dispose()


def login(app, role: str, lang: str = "zh_CN") -> Console:
    c = Console(app).login(role)
    if lang != "zh_CN":
        c.http.cookies.set("weixi_lang", lang)
    return c


def wait(c: Console, location: str, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while True:
        html = c.get(location + "/progress").text
        status = re.search(r'data-status="(\w+)"', html).group(1)
        if status != "running" or time.monotonic() > deadline:
            return html
        time.sleep(0.5)


def rows(html: str) -> list[dict]:
    return [
        dict(re.findall(r'data-(member|list|decile|manager|tier|group)="([^"]*)"', tr))
        for tr in re.findall(r'<tr data-member="[^>]*>', html)
    ]


def test_an_empty_operator_says_what_to_do_and_offers_the_forms(fresh):
    c = login(fresh, "analyst")
    page = c.get("/retention").text
    assert 'id="train-form"' in page and 'id="not-scored"' in page and "weixi " not in page
    assert f'<option value="{TRAIN}">' in page  # the newest month whose history trains a model
    assert "请先训练模型" in page  # no operator model yet: the score form says to train first
    lists = c.get("/targets").text
    assert 'id="no-lists"' in lists and "请先在流失风险页面为月份评分" in lists
    manager = login(fresh, "manager").get("/retention").text
    assert 'id="train-form"' not in manager and "由分析师在本页面训练" in manager


def test_train_score_and_build_in_one_job_from_the_form(fresh):
    c = login(fresh, "analyst")
    r = c.post_form(
        "/retention", "/retention/jobs", {"steps": ["train", "score", "build"], "train_month": TRAIN, "month": M}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/retention/jobs/")
    done = wait(c, r.headers["location"])
    assert 'data-status="succeeded"' in done, done
    assert re.findall(r'data-step="(\w+)" data-done="1"', done) == ["train", "score", "build"]
    assert 'href="/retention/models/1"' in done and f'href="/targets?month={M}"' in done
    assert store.versions(fresh.state.data_dir) == [1]
    built = targets.targets(fresh.state.data_dir, M)
    assert str(built.num_rows) in re.sub(r"[,，]", "", re.search(r'id="result-build">(.*?)<a', done, re.S).group(1))
    page = c.get(r.headers["location"]).text  # the job's page: breadcrumbs back to churn risk, times labelled
    assert 'href="/retention"' in page and "北京时间" in page
    with fresh.state.engine.connect() as conn:
        actions = [a for (a,) in execute(conn, "SELECT action FROM audit_log WHERE username = ?", ["analyst"])]
    assert {"churn.train", "churn.score", "targets.build"} <= set(actions)
    # the risk page now shows the month, its model and the job
    risk = c.get("/retention").text
    assert 'id="risk-summary"' in risk and "v1" in risk and 'href="/retention/jobs/' in risk


def test_a_refused_job_says_why_in_the_readers_language(fresh):
    c = login(fresh, "analyst")
    r = c.post_form("/retention", "/retention/jobs", {"steps": ["build"], "month": "2026-06"})
    done = wait(c, r.headers["location"])
    assert 'data-status="refused"' in done and 'id="job-error"' in done
    assert "2026-06" in done and "churn_month_not_scored" not in done
    english = login(fresh, "analyst", "en")
    assert (
        "not been scored" in english.get(r.headers["location"]).text
        or "not scored" in english.get(r.headers["location"]).text
    )
    nothing = c.post_form("/retention", "/retention/jobs", {"month": M})
    assert nothing.status_code == 422
    assert login(fresh, "manager").get(r.headers["location"]).status_code == 403  # churn:train only
    assert c.get("/retention/jobs/" + "0" * 32).status_code == 404


def test_one_job_at_a_time(fresh, monkeypatch):
    running = {"id": "f" * 32, "status": "running", "steps": ["train"], "pid": None}
    monkeypatch.setattr(jobs, "recent", lambda data_dir, limit=10: [running])
    with pytest.raises(jobs.AnalystJobConflict):
        jobs.start(fresh.state.engine, fresh.state.data_dir, None, ["train"], TRAIN, background=False)


def test_the_model_report_speaks_the_readers_language(fresh):
    zh = login(fresh, "analyst")
    page = zh.get("/retention/models/1").text
    assert len(re.findall(r'class="wx-chart[^"]*" id="chart-\w+"', page)) == 3
    data = zh.get("/retention/models/1/data.json").json()
    assert data["importance"]["title"].startswith("特征重要性")
    assert all(not re.search(r"[a-z]+_[a-z]+", label) for label in data["importance"]["labels"]), data["importance"]
    assert data["lift"]["lift_name"] != data["lift"]["capture_name"]  # two units, two axes
    assert all(0 <= x <= 100 for x in data["lift"]["capture"])
    en = login(fresh, "analyst", "en").get("/retention/models/1/data.json").json()
    assert en["calibration"]["x_name"] == "mean predicted probability (%)"
    assert not re.search(r"[\u4e00-\u9fff]", " ".join(en["importance"]["labels"]))
    risk = zh.get(f"/retention/{M}/data.json").json()
    assert risk["deciles"]["links"][0] == "/members?band=high" and risk["deciles"]["links"][-1] == "/members?band=low"
    assert all(not re.search(r"[a-z]+_[a-z]+", label) for label in risk["reasons"]["labels"])


def test_target_lists_filter_page_and_export_in_the_readers_language(fresh):
    c = login(fresh, "analyst")
    everyone = c.get("/targets", params={"group": "all"}).text
    total = int(re.search(r'data-total="(\d+)"', everyone).group(1))
    assert total == targets.targets(fresh.state.data_dir, M).num_rows
    assert len(rows(everyone)) == min(total, listing.PAGE_SIZE) and 'id="targets-page"' in everyone
    assert f"共 {total} 名会员" in everyone or f"共 {total} 条" in everyone  # the total beside the pager
    first, second = (listing.rows(fresh.state.data_dir, M, listing.Filters(group="all"), n, size=10) for n in (1, 2))
    assert first["pages"] == -(-total // 10) and len(second["rows"]) == 10
    assert [r["priority_rank"] for r in first["rows"] + second["rows"]] == sorted(
        r["priority_rank"] for r in first["rows"] + second["rows"]
    )
    assert not {r["member_id"] for r in first["rows"]} & {r["member_id"] for r in second["rows"]}
    high = rows(c.get("/targets", params={"band": "high", "group": "all"}).text)
    assert high and all(1 <= int(r["decile"]) <= 2 for r in high)
    manager = rows(everyone)[0]["manager"]
    assert {r["manager"] for r in rows(c.get("/targets", params={"manager": manager, "group": "all"}).text)} == {
        manager
    }
    winback = c.get("/targets", params={"list": "winback", "group": "all"}).text
    assert {r["list"] for r in rows(winback)} == {"winback"} and "离网挽回" in winback and ">winback<" not in winback
    link = re.search(r'id="export-csv" href="([^"]+)"', winback).group(1).replace("&amp;", "&")
    table = list(csv.reader(io.StringIO(c.get(link).content.decode("utf-8-sig"))))
    assert table[0][:4] == ["优先级", "会员", "姓名", "手机号码"]
    value = next(i for i, h in enumerate(table[0]) if h.startswith("价值") and "元" in h)
    assert all(re.fullmatch(r"\d+\.\d{2}", r[value]) for r in table[1:])
    assert {r[table[0].index("名单")] for r in table[1:]} == {"离网挽回"}
    assert all("****" in r[3] for r in table[1:] if r[3])  # an analyst sees masked phones
    en = login(fresh, "analyst", "en").get(link)
    head = next(csv.reader(io.StringIO(en.content.decode("utf-8-sig"))))
    assert head[:3] == ["Priority", "Member", "Name"] and "Value (yuan)" in head
    xlsx = c.get(link.replace("format=csv", "format=xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    charts = c.get(f"/targets/{M}/data.json", params={"group": "all"}).json()
    assert sum(sum(s["values"]) for s in charts["members"]["series"]) == total
    assert charts["members"]["y_name"] != charts["value"]["y_name"]
    with fresh.state.engine.connect() as conn:
        exports = execute(conn, "SELECT count(*) FROM audit_log WHERE action = 'targets.export'", [])[0][0]
    assert exports >= 3


def test_target_tier_filter_uses_the_months_snapshot(fresh, tmp_path):
    """With a closed month the lists carry each member's tier, and the tier filter keeps that tier only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from weixi.close import store as close_store

    lists = targets.targets(fresh.state.data_dir, M)
    ids = lists["member_id"].to_pylist()
    snap = close_store.partition(Path(fresh.state.data_dir), "snapshots", M)
    snap.mkdir(parents=True, exist_ok=True)
    tiers = ["gold" if i % 2 else "silver" for i in range(len(ids))]
    pq.write_table(pa.table({"member_id": ids, "tier": tiers}), snap / "part-0.parquet")
    try:
        c = login(fresh, "analyst")
        gold = rows(c.get("/targets", params={"tier": "gold", "group": "all"}).text)
        assert gold and {r["tier"] for r in gold} == {"gold"}
        assert len(gold) == min(50, tiers.count("gold"))
    finally:
        shutil.rmtree(snap)


def test_dashboard_has_a_date_range_and_click_through(console):
    c = console("analyst")
    data = c.get("/dashboard/data.json").json()
    months = data["points"]["months"]
    assert months
    tier = data["by_key"]["by_tier"]
    assert tier["links"] and all(link.startswith("/members?tier=") for link in tier["links"])
    assert data["by_key"]["by_value_grade"]["links"][0].startswith("/members?value=")
    assert data["outstanding"]["y_name"] != data["liability_yuan"]["y_name"]  # points and yuan never share an axis
    one = c.get("/dashboard/data.json", params={"from": months[-1], "to": months[-1]}).json()
    assert one["points"]["months"] == [months[-1]]
    page = c.get("/dashboard", params={"from": months[-1], "to": months[-1]}).text
    assert 'id="date-range"' in page and f"/dashboard/data.json?from={months[-1]}&amp;to={months[-1]}" in page
    assert len(re.findall(r"<tr><td>\d{4}-\d{2}</td>", page.split('id="points-table"')[1])) == 1
    assert c.get("/dashboard", params={"from": "2026-13"}).status_code == 422
    link = tier["links"][0]
    assert c.get(link).status_code == 200
