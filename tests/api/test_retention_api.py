"""Churn scores and target lists through the API: risk distribution and reasons equal the scores file, target
lists filter by list, segment, risk band and manager, exports parse, model reports carry their charts, the
evaluation's lift lies inside its interval; roles are refused where the matrix says."""

from __future__ import annotations

import csv
import io
import shutil

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook

from tests.api.conftest import assert_envelope, make_api
from tests.console import staff_data as sd
from weixi.churn.score import scores_path
from weixi.targets import export
from weixi.targets import service as targets
from weixi.users import service as users

M = sd.SCORED


@pytest.fixture(scope="module")
def ret(tmp_path_factory):
    data = tmp_path_factory.mktemp("retention-api") / "data"
    shutil.copytree(sd.retention(tmp_path_factory), data)
    hasher, users._hasher = users._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        api = make_api(data.parent, data)
    finally:
        users._hasher = hasher
    api.scores = pq.read_table(scores_path(data, M))
    api.targets = export.read(data, M)
    yield api
    for c in api.clients:
        c.close()
    api.engine.dispose()


def test_risk_distribution_counts_every_scored_member_once(ret):
    body = ret.client("manager").get(f"/api/churn/{M}/distribution").json()
    n = ret.scores.num_rows
    assert body["members"] == n and sum(b["members"] for b in body["bins"]) == n
    assert sum(d["members"] for d in body["deciles"]) == n and [d["decile"] for d in body["deciles"]] == list(
        range(1, 11)
    )
    means = [d["mean_probability"] for d in body["deciles"]]
    assert means == sorted(means, reverse=True)  # decile 1 is the riskiest
    p = ret.scores["churn_probability"].to_pylist()
    assert body["bins"][0]["members"] == sum(1 for x in p if x < 0.02)
    assert ret.client().get(f"/api/churn/{M}/distribution").status_code == 401
    assert_envelope(ret.client("clerk").get(f"/api/churn/{M}/distribution"), 403, "forbidden")
    assert_envelope(ret.client("analyst").get("/api/churn/2026-01/distribution"), 404)
    assert ret.client("analyst").get("/api/churn/months").json() == {"months": [M]}


def test_reasons_breakdown_matches_the_scores(ret):
    body = ret.client("analyst").get(f"/api/churn/{M}/reasons").json()
    firsts = [f for f in ret.scores["reason_feature_1"].to_pylist() if f]
    assert sum(r["first"] for r in body["reasons"]) == len(firsts)
    top = body["reasons"][0]
    assert top["members"] == max(r["members"] for r in body["reasons"]) and top["example"] and top["example_zh"]
    high = ret.client("analyst").get(f"/api/churn/{M}/reasons", params={"band": "high"}).json()
    assert high["members"] == sum(1 for d in ret.scores["risk_decile"].to_pylist() if d <= 2)
    members = ret.client("analyst").get(f"/api/churn/{M}/scores", params={"reason": top["feature"], "limit": 1000})
    assert members.json()["total"] == top["members"]
    assert all(
        top["feature"] in (m["reason_feature_1"], m["reason_feature_2"], m["reason_feature_3"])
        for m in members.json()["members"]
    )


def test_target_list_filters_filter(ret):
    agent = ret.client("agent")
    all_rows = agent.get(f"/api/targets/{M}", params={"group": "all", "limit": 1000}).json()
    assert all_rows["total"] == ret.targets.num_rows
    treated = agent.get(f"/api/targets/{M}", params={"limit": 1000}).json()
    assert {r["group"] for r in treated["rows"]} == {"treatment"}
    ranks = [r["priority_rank"] for r in treated["rows"]]
    assert ranks == sorted(ranks)
    for lst in all_rows["options"]["lists"]:
        rows = agent.get(f"/api/targets/{M}", params={"list": lst, "group": "all", "limit": 1000}).json()["rows"]
        assert rows and {r["list"] for r in rows} == {lst}
        assert len(rows) == pc.sum(pc.equal(ret.targets["list"], lst)).as_py()
    high = agent.get(f"/api/targets/{M}", params={"band": "high", "group": "all", "limit": 1000}).json()["rows"]
    assert all(1 <= r["risk_decile"] <= 2 for r in high)
    manager = all_rows["options"]["managers"][0]
    mine = agent.get(f"/api/targets/{M}", params={"manager": manager, "group": "all", "limit": 1000}).json()
    assert mine["total"] == sum(1 for m in ret.targets["manager_id"].to_pylist() if m == manager)
    seg = all_rows["options"]["segments"][0]
    in_seg = agent.get(f"/api/targets/{M}", params={"segment": seg, "group": "all", "limit": 1000}).json()["rows"]
    assert in_seg and {r["segment"] for r in in_seg} == {seg}
    assert_envelope(agent.get(f"/api/targets/{M}", params={"list": "nobody"}), 422)
    assert_envelope(ret.client("clerk").get(f"/api/targets/{M}"), 403, "forbidden")


def test_target_exports_parse_and_mask_phones(ret):
    manager = ret.client("manager")
    r = manager.get(f"/api/targets/{M}/export", params={"format": "csv", "list": "expiring"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    want = ret.client("manager").get(f"/api/targets/{M}", params={"list": "expiring", "limit": 1000}).json()
    assert [row["member_id"] for row in rows] == [x["member_id"] for x in want["rows"]]
    assert rows and all("*" in row["phone"] for row in rows)
    x = manager.get(f"/api/targets/{M}/export", params={"format": "xlsx", "group": "all"})
    sheet = load_workbook(io.BytesIO(x.content), read_only=True)["targets"]
    assert sum(1 for _ in sheet.iter_rows()) == ret.targets.num_rows + 1
    revealed = manager.get(f"/api/targets/{M}/export", params={"reveal": "true", "list": "expiring"})
    assert not any("*" in row["phone"] for row in csv.DictReader(io.StringIO(revealed.content.decode("utf-8-sig"))))
    assert_envelope(
        ret.client("analyst").get(f"/api/targets/{M}/export", params={"reveal": "true"}), 403, "pii_forbidden"
    )
    assert_envelope(ret.client("clerk").get(f"/api/targets/{M}/export"), 403, "forbidden")


def test_models_and_their_report(ret):
    analyst = ret.client("analyst")
    models = analyst.get("/api/churn/models").json()["models"]
    assert [m["version"] for m in models] == [1] and 0.5 < models[0]["auc"] <= 1
    meta = analyst.get("/api/churn/models/1").json()
    assert meta["metrics"]["auc"] == models[0]["auc"] and meta["importance"] and meta["calibration"]
    report = analyst.get("/api/churn/models/1/report")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    assert report.text.count("<svg") == 3 and f"{models[0]['auc']:.4f}" in report.text
    assert_envelope(analyst.get("/api/churn/models/9"), 404)


def test_evaluation_reports_the_lift_inside_its_interval(ret):
    body = ret.client("agent").get(f"/api/targets/{M}/evaluation").json()
    want = targets.evaluate(ret.data_dir, M, fit_uplift=False)
    assert body["overall"] == want["overall"]
    lo, hi = body["overall"]["lift_ci95"]
    assert lo <= body["overall"]["lift"] <= hi
    assert body["overall"]["lift"] == pytest.approx(
        body["overall"]["churn_rate_control"] - body["overall"]["churn_rate_treated"]
    )
    assert_envelope(ret.client("agent").get("/api/targets/2026-10/evaluation"), 404)


def test_building_lists_is_for_analysts_and_gives_the_same_lists(ret):
    assert_envelope(ret.client("manager").post(f"/api/targets/{M}/build"), 403, "forbidden")
    r = ret.client("analyst").post(f"/api/targets/{M}/build", json={"order": "risk"})
    assert r.status_code == 200 and r.json()["members"] == ret.targets.num_rows
    assert export.read(ret.data_dir, M).equals(ret.targets)  # a rebuild draws the same control group
    assert_envelope(ret.client("analyst").post("/api/targets/2026-05/build"), 404)


@pytest.mark.parametrize(
    "path,code,params,zh",
    [
        (
            "/api/churn/2026-01/distribution",
            "churn_month_not_scored",
            {"month": "2026-01"},
            "2026-01 尚未计算流失风险评分",
        ),
        ("/api/churn/2026-01/scores", "churn_month_not_scored", {"month": "2026-01"}, "2026-01 尚未计算流失风险评分"),
        ("/api/churn/models/9", "churn_model_unknown", {"version": 9}, "没有流失模型 v9"),
        ("/api/targets/2026-10/evaluation", "targets_not_built", {"month": "2026-10"}, "2026-10 还没有生成挽留名单"),
        ("/api/targets/2026-10", "targets_not_built", {"month": "2026-10"}, "2026-10 还没有生成挽留名单"),
    ],
)
def test_missing_scores_models_and_lists_answer_with_their_code_in_the_callers_language(ret, path, code, params, zh):
    """The status comes from the error's class (a month not scored, an unknown model, lists not built: 404), the
    code and params name the case, and the message is in the caller's language."""
    analyst = ret.client("analyst")
    en = analyst.get(path)
    assert_envelope(en, 404, code)
    assert en.json()["error"]["params"] == params
    cn = analyst.get(path, headers={"Accept-Language": "zh-CN"})
    assert cn.status_code == 404 and cn.json()["error"]["code"] == code
    assert cn.json()["error"]["message"] == zh


def test_an_unscored_month_cannot_be_built(ret):
    r = ret.client("analyst").post("/api/targets/2026-05/build", headers={"Accept-Language": "zh-CN"})
    assert_envelope(r, 404, "churn_month_not_scored")
    assert r.json()["error"]["message"] == "2026-05 尚未计算流失风险评分"
