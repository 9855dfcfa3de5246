"""Churn and target lists on a small synthetic operator with ground-truth labels."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.e2e.cli_helpers import weixi
from weixi.churn import features
from weixi.churn import service as churn
from weixi.churn.errors import DataNotReady
from weixi.targets import service as targets

MONTH = "2026-10"


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    data = tmp_path_factory.mktemp("op") / "data"
    weixi("generate", "--members", 2000, "--months", 6, "--seed", 1, "--out", data, "--json")
    trained = churn.train_operator(data, MONTH)
    return data, trained


def test_features_match_the_raw_tables(operator):
    data, _ = operator
    t = features.build(data, "2026-08").to_pandas().set_index("member_id")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    # complaints opened in the 30 days to 31 August, counted straight from the table
    direct = dict(
        con.execute(
            f"SELECT member_id, count(*) FROM read_parquet('{data}/complaints/*.parquet') "
            "WHERE CAST(opened_at AS DATE) BETWEEN DATE '2026-08-02' AND DATE '2026-08-31' "
            "GROUP BY 1"
        ).fetchall()
    )
    assert direct, "the operator has complaints"
    for member, n in direct.items():
        if member in t.index:
            assert t.loc[member, "complaints_30d"] == n
    # data trend: August against the mean of May-July
    m = con.execute(f"""SELECT member_id, max(data_mb) FILTER (WHERE month = '2026-08') /
            avg(data_mb) FILTER (WHERE month IN ('2026-05', '2026-06', '2026-07')) - 1
            FROM read_parquet('{data}/usage/*.parquet') GROUP BY 1 HAVING count(*) = 4 ORDER BY 1 LIMIT 200""").fetchall()
    checked = [member for member, _ in m if member in t.index]
    assert len(checked) > 50
    for member, change in m:
        if member in t.index:
            assert t.loc[member, "data_change"] == pytest.approx(change)
    # nobody who had left by the month end is in the population
    gone = {
        r[0]
        for r in con.execute(
            f"SELECT member_id FROM read_parquet('{data}/churn_labels/*.parquet') "
            "WHERE churned AND churn_date <= DATE '2026-08-31'"
        ).fetchall()
    }
    assert gone and not gone & set(t.index)


def test_the_model_beats_chance_clearly_on_the_ground_truth(operator):
    _, trained = operator
    assert trained["auc"] > 0.7 and trained["lift_top_decile"] > 2.5  # chance: 0.5 and 1
    assert trained["rows"] > 1500 and trained["folds"] == 5 and trained["feature_months"] == ["2026-08"]


def test_score_writes_every_member_with_reasons(operator):
    data, _ = operator
    out = churn.score_month(data, MONTH)
    t = pq.read_table(out["path"]).to_pandas()
    population = features.build(data, MONTH).num_rows
    assert len(t) == population == out["members"] and t.member_id.is_unique
    assert t.churn_probability.between(0, 1).all()
    top = t[t.risk_decile == 1]
    assert top.reason_1.notna().mean() > 0.9
    assert top.churn_probability.mean() > 2 * t.churn_probability.mean()
    # a member with a port-out inquiry in the month is explained by it when it is among the top reasons
    said = t.reason_1.dropna().tolist() + t.reason_2.dropna().tolist()
    assert any("against its 3-month average" in s for s in said)
    again = churn.score_month(data, MONTH)  # rerun replaces the month: same result
    assert pq.read_table(again["path"]).to_pandas().equals(t)


def test_reasons_are_sentences_with_the_members_numbers(operator):
    """Issue 18 §2: 「近3个月月均账单 120 元,本月 66 元,下降 45%」; no missing feature, no 0% change, no code and no
    fact said twice becomes a reason."""
    data, _ = operator
    t = pq.read_table(churn.score_month(data, MONTH)["path"]).to_pandas().set_index("member_id")
    f = features.build(data, MONTH).to_pandas().set_index("member_id")
    said = {k: t[[f"reason_{k}", f"reason_{k}_zh"]] for k in (1, 2, 3)}
    feats = t[["reason_feature_1", "reason_feature_2", "reason_feature_3"]]
    for k in (1, 2, 3):
        zh, en = said[k][f"reason_{k}_zh"].dropna(), said[k][f"reason_{k}"].dropna()
        assert len(zh) == len(en) == feats[f"reason_feature_{k}"].notna().sum()
        for text in zh:
            assert "缺失" not in text and "_" not in text and " 0%" not in text, text
        for text in en:
            assert "missing" not in text and "_" not in text and " 0%" not in text, text
    both = feats.isin(["portout_30d"]).any(axis=1) & feats.isin(["portout_90d"]).any(axis=1)
    assert not both.any()  # port-out asked is said once
    checked = 0
    for k in (1, 2, 3):
        for member in feats.index[feats[f"reason_feature_{k}"] == "bill_change"][:20]:
            now, change = f.loc[member, "bill_yuan"], f.loc[member, "bill_change"]
            if change <= -1:
                assert t.loc[member, f"reason_{k}_zh"] == "本月没有账单,近3个月有"
                continue
            avg, pct = now / (1 + change), round(abs(change) * 100)
            way_zh, way_en = ("下降", "down") if change < 0 else ("上升", "up")
            assert t.loc[member, f"reason_kind_{k}"] == ("change_down" if change < 0 else "change_up")
            assert t.loc[member, f"reason_compare_{k}"] == now
            assert t.loc[member, f"reason_{k}_zh"] == f"近3个月月均账单 {avg:.2f} 元,本月 {now:.2f} 元,{way_zh} {pct}%"
            assert t.loc[member, f"reason_{k}"] == (
                f"Bill this month {now:.2f} yuan, against {avg:.2f} yuan a month over the last 3 months: {way_en} {pct}%"
            )
            checked += 1
        for member in feats.index[feats[f"reason_feature_{k}"] == "contract_days_left"][:20]:
            days = f.loc[member, "contract_days_left"]
            expect = (
                "没有合约"
                if days != days
                else f"合约 {int(days)} 天后到期"
                if days >= 0
                else f"合约已于 {int(-days)} 天前到期"
            )
            assert t.loc[member, f"reason_{k}_zh"] == expect
            checked += 1
    assert checked > 0


def test_target_lists_control_group_and_exports(operator, tmp_path):
    data, _ = operator
    churn.score_month(data, "2026-08")
    out = targets.build(data, "2026-08")
    t = pq.read_table(out["path"]).to_pandas()
    assert t.member_id.is_unique and set(t.list) <= {"expiring", "high_risk", "silent", "winback"}
    for stratum, g in t.groupby("stratum"):
        assert abs((g.group == "control").sum() - 0.1 * len(g)) <= 1, stratum
    f = features.build(data, "2026-08").to_pandas().set_index("member_id")
    exp = t[t.list == "expiring"].member_id
    days = f.loc[exp, ["contract_days_left", "subsidy_days_left"]]
    assert (days.apply(lambda r: any(0 <= v <= 90 for v in r.dropna()), axis=1)).all()
    risky = t[t.list == "high_risk"]
    assert (risky.churn_probability >= 0.15).all()
    assert (t.priority_fen == (t.churn_probability * t.value_fen).round()).all()
    gone = t[t.list == "winback"]  # why a leaver left: the churn reason's name in the reader's language
    assert len(gone) and gone.reason_1_zh.str.match(r"^已于 \d{4}-\d\d-\d\d 离网,原因(:\w+|未知)$").all()
    assert not gone.reason_1_zh.str.contains("_").any() and gone.reason_1.str.startswith("Left on ").all()
    moved = gone[gone.reason_feature_1 == "moved_away"]
    assert (moved.reason_1_zh.str.endswith("原因:迁居外地") & moved.reason_1.str.endswith(": Moved away")).all()
    inc = targets.export_lists(data, "2026-08", str(tmp_path / "inc.csv"), "incentive")
    rows = (tmp_path / "inc.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == '"customer_id","month","status"' and inc["rows"] == len(rows) - 1
    assert {r.split(",")[2].strip('"') for r in rows[1:]} <= {"expiring", "non_expiring"}
    x = targets.export_lists(data, "2026-08", str(tmp_path / "calls.xlsx"))
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "calls.xlsx", read_only=True)["targets"]
    header = next(ws.iter_rows(values_only=True))
    assert header[:3] == ("priority_rank", "member_id", "phone") and x["rows"] == (t.group == "treatment").sum()
    again = targets.build(data, "2026-08")
    assert pq.read_table(again["path"]).to_pandas().equals(t)  # the same control group on a rerun


def test_evaluate_and_order_by_uplift(operator):
    data, _ = operator
    churn.score_month(data, "2026-08")
    targets.build(data, "2026-08")
    res = targets.evaluate(data, "2026-08")
    o = res["overall"]
    assert o["treated"] + o["control"] == sum(
        d["treated"] + d["control"] for k, d in res["by_list"].items() if k != "winback"
    )
    lo, hi = o["lift_ci95"]
    assert lo < o["lift"] < hi  # the synthetic operator knows nothing of our calls: the effect is noise
    if res["uplift"].get("learner"):
        out = targets.build(data, "2026-08", order="uplift")
        t = pq.read_table(out["path"]).to_pandas()
        assert "uplift" in t.columns and t.sort_values("priority_rank").uplift_value_fen.is_monotonic_decreasing
    churn.score_month(data, MONTH)  # the latest month scored and its lists built: its outcomes are not in yet
    with pytest.raises(DataNotReady, match="not in the archive yet") as refused:
        targets.evaluate(data, MONTH) if targets.build(data, MONTH) else None
    assert refused.value.code == "targets_outcomes_not_yet" and refused.value.status == 409


def test_training_needs_history(operator):
    data, _ = operator
    with pytest.raises(DataNotReady, match="not enough months to train at 2026-07") as refused:
        churn.train_operator(data, "2026-07")
    assert refused.value.code == "churn_not_enough_months" and refused.value.params["month"] == "2026-07"


def test_features_by_member_range_are_the_same_rows(operator):
    """Built range by range (the scoring path at scale), the features are those of the whole population,
    secondary cards counted across ranges."""
    data, _ = operator
    whole = features.build(data, MONTH).sort_by("member_id")
    ids = whole.column("member_id").to_pylist()
    cuts = [ids[len(ids) // 3], ids[2 * len(ids) // 3]]
    con = features.connect()
    con.execute(f"CREATE TEMP TABLE sec AS {features.secondaries_sql(data, MONTH)}")
    extras = {"secondaries": "SELECT * FROM sec"}
    parts = [
        con.sql(features.feature_sql(data, MONTH, extras, r)).to_arrow_table()
        for r in [(None, cuts[0]), (cuts[0], cuts[1]), (cuts[1], None)]
    ]
    assert [p.num_rows for p in parts] == [
        len(ids) // 3,
        2 * len(ids) // 3 - len(ids) // 3,
        len(ids) - 2 * len(ids) // 3,
    ]
    import pyarrow as pa

    assert pa.concat_tables(parts).sort_by("member_id").equals(whole)
    assert whole.column("secondary_cards").to_numpy().sum() > 0
    with pytest.raises(ValueError, match="secondaries"):
        features.feature_sql(data, MONTH, {}, (None, cuts[0]))


def test_scoring_in_ranges_writes_the_same_file(operator, monkeypatch):
    from weixi.churn import score

    data, _ = operator
    one = pq.read_table(churn.score_month(data, MONTH)["path"])
    ids = sorted(one.column("member_id").to_pylist())
    monkeypatch.setattr(score, "member_ranges", lambda d, b: [(None, ids[500]), (ids[500], ids[900]), (ids[900], None)])
    out = churn.score_month(data, MONTH)
    assert set(out["seconds"]) >= {"features", "predict", "explain", "write", "total"}
    assert pq.read_table(out["path"]).equals(one)


def test_features_take_the_active_plans_timezone(engine, tmp_path):
    """Scoring and training read the timezone of the plan applied to the points database."""
    from tests.integration.plans import telecom
    from weixi.churn.service import operator_zone
    from weixi.plans.service import apply_plan

    assert operator_zone(engine) == "Asia/Shanghai"  # no plan yet: the default
    path = telecom(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("name: 测试计划\n", "name: 测试计划\ntimezone: Europe/London\n", 1),
        encoding="utf-8",
    )
    apply_plan(engine, path)
    assert operator_zone(engine) == "Europe/London"


def test_the_training_rows_come_in_member_order_each_time(operator):
    """The training table is built in the same order every time (each feature month's members in id order), so
    that its folds, and the model and figures trained on them, are the same however often the same data is trained
    (DuckDB's parallel joins and aggregates return rows in no fixed order)."""
    from weixi.churn import operator as churn_operator

    data, _ = operator
    first, used = churn_operator.training_table(data, MONTH)
    again, _ = churn_operator.training_table(data, MONTH)
    assert used and list(first.ids) == list(again.ids)
    assert first.X.equals(again.X) and (first.y == again.y).all()
    start = 0
    for month in used:  # one block per feature month, each in member order
        n = len(features.build(data, month))
        block = list(first.ids[start : start + n])
        assert block == sorted(block), month
        start += n
    assert start == len(first.ids)
