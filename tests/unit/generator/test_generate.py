"""The synthetic operator: determinism, chunking invariance, identity data, churn behaviour."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from weixi.adapters.archive_schema import TABLES
from weixi.generator.identity import id_number_birthday, id_number_gender, is_valid_id_number, is_valid_mobile
from weixi.generator.run import GenerateConfig, GenerateError, generate

MEMBERS, MONTHS, END = 2000, 6, "2026-03"  # 2025-10 .. 2026-03: Spring Festival 2026-02-17
KEYS = {
    "members": "member_id", "bills": "bill_id", "usage": ["member_id", "month"], "recharges": "recharge_id",
    "complaints": "complaint_id", "surveys": "survey_id", "portout_inquiries": "inquiry_id",
    "churn_labels": "member_id",
}  # fmt: skip


def _run(root, name, **kw):
    args = dict(members=MEMBERS, months=MONTHS, seed=11, end_month=END, chunk_size=500) | kw
    out = root / name
    manifest = generate(GenerateConfig(out=str(out), **args))
    return out, manifest


def read(out, table) -> pa.Table:
    t = pq.read_table(out / table)
    keys = KEYS[table] if isinstance(KEYS[table], list) else [KEYS[table]]
    return t.sort_by([(k, "ascending") for k in keys])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("operator")
    return {
        "a": _run(root, "a"),
        "again": _run(root, "again"),
        "big_chunks": _run(root, "big_chunks", chunk_size=2000),
        "other_seed": _run(root, "other_seed", seed=12),
    }


@pytest.fixture(scope="module")
def op(runs):
    out, manifest = runs["a"]
    return {name: read(out, name) for name in TABLES} | {"manifest": manifest, "out": out}


@pytest.mark.parametrize("table", list(TABLES))
def test_same_seed_same_data_and_chunk_size_does_not_matter(runs, table):
    a = read(runs["a"][0], table)
    assert a.num_rows > 0
    assert a.equals(read(runs["again"][0], table))
    assert a.equals(read(runs["big_chunks"][0], table))


def test_same_seed_gives_byte_identical_files(runs):
    for table in TABLES:
        for part in sorted((runs["a"][0] / table).iterdir()):
            assert part.read_bytes() == (runs["again"][0] / table / part.name).read_bytes()


def test_another_seed_gives_other_data(runs):
    for table in ("members", "bills", "usage", "churn_labels"):
        assert not read(runs["a"][0], table).equals(read(runs["other_seed"][0], table))


def test_manifest_counts_match_the_files(op):
    manifest = json.loads((op["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == op["manifest"]
    assert manifest["months"] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert manifest["spring_festival"] == ["2026-02-17"]
    assert manifest["seed"] == 11 and manifest["schema_version"] == 1
    for table, info in manifest["tables"].items():
        assert op[table].num_rows == info["rows"]
        assert len(list((op["out"] / table).glob("part-*.parquet"))) == info["files"] == 4


def test_schemas(op):
    for table, schema in TABLES.items():
        assert op[table].schema.equals(schema), table


def test_phones_valid_and_unique(op):
    phones = op["members"]["phone"].to_pylist()
    assert len(set(phones)) == MEMBERS
    assert all(is_valid_mobile(p) and p[:2] in {"13", "15", "18", "19"} for p in phones)
    contacts = [p for p in op["members"]["second_contact"].to_pylist() if p]
    assert contacts and all(is_valid_mobile(p) for p in contacts)


def test_id_numbers_valid_unique_and_consistent(op):
    m = op["members"]
    ids = m["id_number"].to_pylist()
    assert len(set(ids)) == MEMBERS
    for id_number, birthday, gender in zip(ids, m["birthday"].to_pylist(), m["gender"].to_pylist()):
        assert is_valid_id_number(id_number)
        assert id_number_birthday(id_number) == birthday
        assert id_number_gender(id_number) == gender
        assert 16 <= (date(2026, 3, 31) - birthday).days / 365.25 <= 86


def test_member_fields(op):
    m = op["members"].to_pylist()
    assert m[0]["member_id"] == "M0000000001"
    assert all(2 <= len(r["name"]) <= 4 for r in m)
    lunar = [r["lunar_birthday"] for r in m if r["lunar_birthday"]]
    assert 0.25 < len(lunar) / MEMBERS < 0.35 and all(s.startswith("农历") for s in lunar)
    assert {r["payment_type"] for r in m} == {"prepaid", "postpaid"}
    assert {r["network"] for r in m} == {"4G", "5G"}
    assert all(r["manager_id"].startswith("E") and len(r["manager_id"]) == 5 for r in m)
    for r in m:
        if r["contract_start"]:
            assert r["contract_start"] < r["contract_end"]
            assert r["payment_type"] == "postpaid"
        if r["subsidy_end"]:
            assert r["contract_end"] and r["subsidy_end"] <= r["contract_end"]
        assert (r["broadband_mbps"] is not None) == r["broadband"]
    share_prepaid = sum(r["payment_type"] == "prepaid" for r in m) / MEMBERS
    assert 0.2 < share_prepaid < 0.45


def test_secondary_cards_point_at_primary_postpaid_cards(op):
    m = {r["member_id"]: r for r in op["members"].to_pylist()}
    secondary = [r for r in m.values() if r["card_role"] == "secondary"]
    assert 0.08 < len(secondary) / MEMBERS < 0.25
    for r in secondary:
        p = m[r["primary_member_id"]]
        assert p["card_role"] == "primary" and p["payment_type"] == "postpaid"
        assert r["payment_type"] == "postpaid" and r["city"] == p["city"] and r["join_date"] >= p["join_date"]
    assert all(r["primary_member_id"] is None for r in m.values() if r["card_role"] == "primary")


def _month_index(labels):
    return {m: i for i, m in enumerate(labels)}


def test_churn_rate_and_no_activity_after_leaving(op):
    labels = {r["member_id"]: r for r in op["churn_labels"].to_pylist()}
    churners = {k: v for k, v in labels.items() if v["churned"]}
    monthly = len(churners) / MEMBERS / MONTHS
    assert 0.012 < monthly < 0.03
    for r in churners.values():
        assert r["churn_month"] == r["churn_date"].strftime("%Y-%m") and r["churn_reason"]
    assert all(r["churn_month"] is None and r["churn_reason"] is None for r in labels.values() if not r["churned"])
    # secondary cards leave with (or before) their primary
    members = {r["member_id"]: r for r in op["members"].to_pylist()}
    for mid, r in members.items():
        if r["card_role"] == "secondary" and labels[r["primary_member_id"]]["churned"]:
            p_date = labels[r["primary_member_id"]]["churn_date"]
            if p_date >= r["join_date"]:
                assert labels[mid]["churned"] and labels[mid]["churn_date"] <= p_date
    for table, when in (("recharges", "recharged_at"), ("complaints", "opened_at"), ("surveys", "surveyed_at"),
                        ("portout_inquiries", "inquired_at")):  # fmt: skip
        t = op[table]
        local = pc.cast(pc.local_timestamp(t[when]), pa.date32()).to_pylist()
        for mid, day in zip(t["member_id"].to_pylist(), local):
            r = labels[mid]
            assert day >= members[mid]["join_date"]
            if r["churned"]:
                assert day <= r["churn_date"], (table, mid)
    for table in ("bills", "usage"):
        for mid, month in zip(op[table]["member_id"].to_pylist(), op[table]["month"].to_pylist()):
            r = labels[mid]
            assert not r["churned"] or month <= r["churn_month"], (table, mid)
            assert month >= members[mid]["join_date"].strftime("%Y-%m")


def test_usage_declines_and_complaints_rise_before_churn(op):
    months = op["manifest"]["months"]
    idx = _month_index(months)
    labels = {r["member_id"]: r for r in op["churn_labels"].to_pylist()}
    usage = {}
    for mid, month, data in zip(*(op["usage"][c].to_pylist() for c in ("member_id", "month", "data_mb"))):
        usage.setdefault(mid, {})[idx[month]] = data
    # usage relative to the members who stay, month by month (takes out the season)
    stay_mean = [
        np.mean([u[m] for mid, u in usage.items() if not labels[mid]["churned"] and m in u]) for m in range(MONTHS)
    ]
    rel = {mid: {m: v / stay_mean[m] for m, v in u.items()} for mid, u in usage.items()}
    churn_ratio, last_month, stay_ratio = [], [], []
    for mid, by_month in rel.items():
        r = labels[mid]
        if r["churned"] and idx[r["churn_month"]] >= 1 and idx[r["churn_month"]] - 1 in by_month:
            c = idx[r["churn_month"]]
            last_month.append(by_month[c - 1])
            early = [by_month[m] for m in range(0, c - 3) if m in by_month]
            late = [by_month[m] for m in (c - 2, c - 1) if m in by_month]
            if early and late and r["churn_reason"] != "moved_away":  # movers leave abruptly
                churn_ratio.append((np.mean(early), np.mean(late)))
        elif not r["churned"] and all(m in by_month for m in range(MONTHS)):
            stay_ratio.append(np.mean([by_month[4], by_month[5]]) / np.mean([by_month[0], by_month[1]]))
    assert len(churn_ratio) >= 30 and len(last_month) >= 100
    # own decline: the two months before leaving against the months before the ramp
    early, late = np.array(churn_ratio).mean(axis=0)
    assert late / early < 0.85 and 0.95 < np.median(stay_ratio) < 1.05  # measured: 0.74 and 1.03
    # and against members who stay: the month before leaving is far below the average
    assert np.mean(last_month) < 0.75  # measured: 0.49
    # complaints per member-month: the 3 months before leaving vs members who stay
    complaints = {}
    for mid, month in zip(op["complaints"]["member_id"].to_pylist(), op["complaints"]["month"].to_pylist()):
        complaints[(mid, idx[month])] = complaints.get((mid, idx[month]), 0) + 1
    pre, pre_n, stay, stay_n = 0, 0, 0, 0
    for mid, r in labels.items():
        if r["churned"]:
            c = idx[r["churn_month"]]
            for m in range(max(0, c - 3), c):
                pre += complaints.get((mid, m), 0)
                pre_n += 1
        else:
            stay += sum(complaints.get((mid, m), 0) for m in range(MONTHS))
            stay_n += MONTHS
    assert pre / pre_n > 3 * (stay / stay_n)
    # port-out inquiries: mostly from members about to leave
    inquirers = set(op["portout_inquiries"]["member_id"].to_pylist())
    churned = {k for k, v in labels.items() if v["churned"]}
    assert len(inquirers & churned) / len(churned) > 0.4
    assert len(inquirers - churned) / (MEMBERS - len(churned)) < 0.05


def test_spring_festival_month_bills_are_higher(op):
    t = op["bills"]
    per = {}
    for mid, month, amount in zip(*(t[c].to_pylist() for c in ("member_id", "month", "amount_fen"))):
        per[(mid, month)] = per.get((mid, month), 0) + amount
    by_month = {}
    for (_mid, month), amount in per.items():
        by_month.setdefault(month, []).append(amount)
    means = {m: np.mean(v) for m, v in by_month.items()}
    others = [v for m, v in means.items() if m != "2026-02"]
    assert means["2026-02"] > 1.05 * np.mean(others)


def test_money_is_integer_fen_and_never_negative(op):
    for table in ("bills", "recharges"):
        col = op[table]["amount_fen"]
        assert pa.types.is_integer(col.type) and pc.min(col).as_py() >= 0
    assert set(op["recharges"]["amount_fen"].to_pylist()) <= {3000, 5000, 10000, 20000, 30000}
    assert pa.types.is_integer(op["members"]["monthly_rent_fen"].type)
    bills = op["bills"].to_pylist()
    assert len({b["bill_id"] for b in bills}) == len(bills)
    assert all(b["paid_on"] is None for b in bills if not b["paid"])
    payers = {r["member_id"] for r in op["members"].to_pylist() if r["payment_type"] == "prepaid"}
    assert set(op["recharges"]["member_id"].to_pylist()) <= payers


def test_complaints_use_the_seed_taxonomy(op):
    cats = set(op["complaints"]["category"].to_pylist())
    assert {"roaming_call_forwarding", "spam_sms", "contract_rebate_withheld", "network_quality", "price"} <= cats
    for r in op["complaints"].to_pylist():
        assert r["resolved"] == (r["resolved_at"] is not None) == (r["satisfaction"] is not None)
        if r["resolved"]:
            assert r["resolved_at"] > r["opened_at"] and 1 <= r["satisfaction"] <= 5
    assert all(1 <= s <= 10 for s in op["surveys"]["score"].to_pylist())


def test_bad_arguments_and_a_used_directory_are_refused(tmp_path):
    with pytest.raises(GenerateError):
        GenerateConfig(members=0, months=6, seed=1, out=str(tmp_path)).validate()
    with pytest.raises(GenerateError):
        GenerateConfig(members=10, months=6, seed=1, out=str(tmp_path), end_month="2026-13").validate()
    out = tmp_path / "op"
    generate(GenerateConfig(members=50, months=2, seed=1, out=str(out)))
    with pytest.raises(GenerateError, match="not empty"):
        generate(GenerateConfig(members=50, months=2, seed=1, out=str(out)))
    generate(GenerateConfig(members=30, months=2, seed=1, out=str(out), overwrite=True))
    assert pq.read_table(out / "members").num_rows == 30
    (out / "mine.txt").write_text("x")
    with pytest.raises(GenerateError, match="did not write"):
        generate(GenerateConfig(members=30, months=2, seed=1, out=str(out), overwrite=True))
