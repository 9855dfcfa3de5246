"""The programme figures' lake part from the sums each accrual partition keeps (``weixi.close.lake_sums``): equal to
the sums over every unfolded row, with members folded between the closes (their rows are the SQL ledger's), lake
lots expired, and every kind of date the figures split at; read from no partition's rows when no member is folded;
found again from the files when a partition's sums are gone, damaged or kept for other files."""

from __future__ import annotations

import json
from datetime import date

from tests.integration.lake_plan import balances_of, lake_plan
from tests.integration.test_lake_ledger import MONTHS, _ledger, operator  # noqa: F401 (a fixture)
from weixi.adapters.sql import execute
from weixi.close import lake_ids, lake_sums, ledger_bridge
from weixi.close.months import first_day, next_month
from weixi.close.run import close_month
from weixi.close.verify_lake import verify_lake
from weixi.ledger import fold
from weixi.ledger.fold import ensure_folded


def _marks(engine):
    with engine.connect() as conn:
        return fold.marks_table(execute(conn, ledger_bridge.FOLDS[0]))


def _from_every_row(monkeypatch):
    """``lake_sums.unfolded`` as the sums of every unfolded row (the read the kept sums replace)."""

    def every_row(con, lake_dir, by_key, folded):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE lake_accrual_sums AS SELECT day, expires_on, earned > 0 AS pos, "
            "sum(earned) AS earned FROM lake_accruals GROUP BY ALL"
        )

    monkeypatch.setattr(lake_sums, "unfolded", every_row)


def _figures(engine, monkeypatch, month: str) -> list:
    """The lake's part of the programme figures of ``month`` at several dates, kept sums against every row."""
    days = [first_day(month), first_day(next_month(month)), date(2027, 1, 31), date(2030, 1, 1)]
    marks = _marks(engine)
    got = [ledger_bridge.lake_programme(engine, first_day(month), d, marks) for d in days]
    with monkeypatch.context() as mp:
        _from_every_row(mp)
        want = [ledger_bridge.lake_programme(engine, first_day(month), d, marks) for d in days]
    assert got == want
    return got


def _counting(monkeypatch) -> list:
    calls: list = []
    real = lake_sums.sums

    def sums(con, rows):
        calls.append(rows)
        return real(con, rows)

    monkeypatch.setattr(lake_sums, "sums", sums)
    return calls


def test_the_kept_sums_give_the_figures_of_every_unfolded_row(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    # lots expire at the end of the month after: the later closes expire lake lots
    engine, data = _ledger(tmp_path / "run", operator, lake_plan("lake-sums", expiry_months=1))
    close_month(engine, data, MONTHS[0])
    first = _figures(engine, monkeypatch, MONTHS[0])
    assert first[1][0]["earn"][0] > 0 and first[1][1][2] > 0  # points earned, lots still to expire
    richest = sorted(balances_of(engine).items(), key=lambda kv: (-kv[1], kv[0]))
    ensure_folded(engine, [m for m, _ in richest[:5]])  # redemptions' folds between the closes, say
    folded = _figures(engine, monkeypatch, MONTHS[0])
    assert folded[1][0]["earn"][0] < first[1][0]["earn"][0]  # the folded members' points are SQL's now
    close_month(engine, data, MONTHS[1])
    ensure_folded(engine, [m for m, _ in richest[3:9]])
    _figures(engine, monkeypatch, MONTHS[1])
    close_month(engine, data, MONTHS[2])
    last = _figures(engine, monkeypatch, MONTHS[2])
    assert last[-1][0]["expire"][2] < 0  # lake lots expired
    # every partition's sums were kept by its accrual: the figures read none from the files
    calls = _counting(monkeypatch)
    _figures(engine, monkeypatch, MONTHS[2])
    assert calls == []


def test_sums_gone_damaged_or_kept_for_other_files_are_found_again(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    for month in MONTHS[:2]:
        close_month(engine, data, month)
    folder = data / "lake" / lake_sums.SUMS
    want = _figures(engine, monkeypatch, MONTHS[1])
    # damaged, and kept for another file than the partition has
    (folder / f"{MONTHS[0]}.json").write_text("[", encoding="utf-8")
    record = json.loads((folder / f"{MONTHS[1]}.json").read_text(encoding="utf-8"))
    record["files"][0][1] += 1
    record["facts"] = [[f"{MONTHS[1]}-01", None, True, 10**9]]  # would be counted if it were used
    (folder / f"{MONTHS[1]}.json").write_text(json.dumps(record), encoding="utf-8")
    calls = _counting(monkeypatch)
    assert _figures(engine, monkeypatch, MONTHS[1]) == want
    assert len(calls) == 2  # both read from their files, then kept
    assert _figures(engine, monkeypatch, MONTHS[1]) == want and len(calls) == 2
    for path in folder.iterdir():
        path.unlink()
    assert _figures(engine, monkeypatch, MONTHS[1]) == want and len(calls) == 4
    # a reader that may not write the data folder (the app's, say): the figures all the same, nothing kept

    def refused(*args, **kwargs):
        raise PermissionError("read-only")

    for path in folder.iterdir():
        path.unlink()
    monkeypatch.setattr(lake_sums, "write_record", refused)
    assert _figures(engine, monkeypatch, MONTHS[1]) == want and len(calls) == 4 + 4 * 2  # each read summed again
    assert list(folder.iterdir()) == []


def test_records_edited_by_hand_are_found_by_verify(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    for month in MONTHS[:2]:
        close_month(engine, data, month)
    problems, counts = verify_lake(engine, data)
    assert problems == [] and counts["lake_records"] == 4  # two partitions, ranges and sums each
    # the files' stamps left as they are: the records are used, and wrong
    sums = data / "lake" / lake_sums.SUMS / f"{MONTHS[0]}.json"
    record = json.loads(sums.read_text(encoding="utf-8"))
    record["facts"][0][3] += 7
    sums.write_text(json.dumps(record), encoding="utf-8")
    ids = data / "lake" / lake_ids.IDS / f"{MONTHS[1]}.json"
    record = json.loads(ids.read_text(encoding="utf-8"))
    record["facts"]["B"][1] = record["facts"]["B"][0]  # the bills' range cut to its least id
    ids.write_text(json.dumps(record), encoding="utf-8")
    problems, _ = verify_lake(engine, data)
    assert sorted((p.what, p.key) for p in problems) == [
        ("lake-ids-record", MONTHS[1]),
        ("lake-sums-record", MONTHS[0]),
    ]
    wrong = next(p for p in problems if p.what == "lake-sums-record")
    assert wrong.found == wrong.expected + 7
