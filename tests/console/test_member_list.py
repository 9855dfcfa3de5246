"""The member list (issue 18 §3: "Member list: filters (tier, star level, value layer, activity, churn risk band,
manager, status, contract end), sort, pagination, total count, export."): the filter bar, the total, pages, sort
links, the htmx fragment with its URL, the CSV/XLSX export with headers in the page's language, and masking."""

from __future__ import annotations

import csv
import io
import json
import re

import duckdb
import pytest
from openpyxl import load_workbook

from tests.console import operator as op
from weixi.close import store

ALL_DIGITS = re.compile(r"\b1\d{10}\b")  # a whole mobile number


def snapshot(operator) -> str:
    return str(store.path(operator.data, "snapshots", op.CLOSED))


def count(operator, where: str = "true") -> int:
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{snapshot(operator)}') WHERE {where}").fetchone()[0]


def total_on(html: str) -> int:
    found = re.search(r'id="member-total">(?:共 )?([\d,]+)', html)
    assert found, "no total on the page"
    return int(found.group(1).replace(",", ""))


def ids_on(html: str) -> list[str]:
    table = re.search(r'<table class="data" id="member-list">.*?</table>', html, re.S)
    return re.findall(r'<a href="/members/(M\d+)">', table.group(0)) if table else []


def zh(c):
    c.http.cookies.set("weixi_lang", "zh_CN")
    return c


def en(c):
    c.http.cookies.set("weixi_lang", "en")
    return c


def test_the_list_shows_the_total_as_gong_n_tiao_the_filter_bar_and_the_first_page(console, operator):
    page = zh(console("analyst")).get("/members")
    assert page.status_code == 200
    assert f"共 {count(operator):,} 条" in page.text
    assert total_on(page.text) == count(operator)
    for name in ("tier", "star", "value", "activity", "band", "manager", "status", "contract_before", "size"):
        assert f'name="{name}"' in page.text, name
    assert len(ids_on(page.text)) == 50 and ids_on(page.text) == sorted(ids_on(page.text))
    assert "第 1 / 6 页" in page.text  # 300 members at 50 a page


@pytest.mark.parametrize(
    "query, where",
    [
        ("tier=standard", "tier = 'standard'"),
        ("star=2", "star_level = 2"),
        ("value=A", "value_grade = 'A'"),
        ("activity=normal", "activity_grade = 'normal'"),
        ("manager=E0001", "manager_id = 'E0001'"),
        ("status=left", "status = 'left'"),
        ("status=active&value=B&star=1", "status = 'active' AND value_grade = 'B' AND star_level = 1"),
    ],
)
def test_each_snapshot_filter_gives_the_members_of_the_snapshot_that_match(console, operator, query, where):
    page = console("analyst").get(f"/members?{query}&size=200")
    assert page.status_code == 200
    expected = count(operator, where)
    assert total_on(page.text) == expected
    shown = ids_on(page.text)
    want = duckdb.sql(
        f"SELECT member_id FROM read_parquet('{snapshot(operator)}') WHERE {where} ORDER BY member_id LIMIT 200"
    ).fetchall()
    assert shown == [m for (m,) in want]


def test_the_contract_end_filter_keeps_contracts_ending_on_or_before_the_date(console, operator):
    from weixi.adapters import archive

    sql = archive.scan_sql(operator.data, "members")
    ends = duckdb.sql(
        f"SELECT m.member_id FROM ({sql}) m JOIN read_parquet('{snapshot(operator)}') s USING (member_id) "
        "WHERE m.contract_end <= DATE '2027-06-30' ORDER BY 1"
    ).fetchall()
    page = console("analyst").get("/members?contract_before=2027-06-30&size=200")
    assert total_on(page.text) == len(ends) > 0
    assert ids_on(page.text) == [m for (m,) in ends][:200]


def test_the_risk_band_filter_uses_the_months_churn_scores(console, operator):
    scores = operator.data / "churn" / "scores" / f"month={op.CLOSED}"
    scores.mkdir(parents=True)
    duckdb.sql(
        f"COPY (SELECT member_id, '{op.CLOSED}' AS month, 1.0 / (row_number() OVER (ORDER BY member_id) + 1) "
        "AS churn_probability, CAST(1 + (row_number() OVER (ORDER BY member_id) - 1) % 10 AS TINYINT) AS risk_decile "
        f"FROM read_parquet('{snapshot(operator)}') WHERE status = 'active') TO '{scores / 'part-0.parquet'}' "
        "(FORMAT parquet)"
    )
    high = duckdb.sql(
        f"SELECT member_id FROM read_parquet('{scores / 'part-0.parquet'}') WHERE risk_decile <= 2 ORDER BY 1"
    ).fetchall()
    page = console("analyst").get("/members?band=high&size=200")
    assert total_on(page.text) == len(high)
    assert ids_on(page.text) == [m for (m,) in high]
    riskiest = console("analyst").get("/members?sort=risk&dir=desc&size=20")
    assert ids_on(riskiest.text)[0] == "M0000000001"  # probability 1/2, the highest


def test_sort_by_a_column_and_the_sort_links_toggle_the_direction(console, operator):
    c = console("analyst")
    page = c.get("/members?sort=star&dir=desc&size=20")
    want = duckdb.sql(
        f"SELECT member_id FROM read_parquet('{snapshot(operator)}') "
        "ORDER BY star_level DESC NULLS LAST, member_id LIMIT 20"
    ).fetchall()
    assert ids_on(page.text) == [m for (m,) in want]
    assert 'aria-sort="descending"' in page.text
    assert "sort=star&amp;dir=asc" in page.text  # the header link turns the order round
    member_desc = c.get("/members?sort=member&dir=desc&size=20")
    assert ids_on(member_desc.text) == sorted(ids_on(member_desc.text), reverse=True)


def test_pages_follow_each_other_and_keep_the_filters_in_their_links(console, operator):
    c = console("analyst")
    first = c.get("/members?status=active&size=20")
    second = c.get("/members?status=active&size=20&page=2")
    assert len(ids_on(first.text)) == len(ids_on(second.text)) == 20
    assert max(ids_on(first.text)) < min(ids_on(second.text))
    assert 'href="/members?status=active&amp;sort=member&amp;dir=asc&amp;size=20&amp;page=2"' in first.text
    last_page = -(-count(operator, "status = 'active'") // 20)
    past = c.get(f"/members?status=active&size=20&page={last_page + 1}")
    assert total_on(past.text) == count(operator, "status = 'active'") and ids_on(past.text) == []
    assert c.get("/members?size=7").status_code == 422  # page sizes are a fixed choice


def test_the_htmx_fragment_swaps_the_table_and_puts_the_filters_in_the_address_bar(console, operator):
    r = console("analyst").get("/members/results?value=C&size=20", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert r.headers["HX-Push-Url"] == "/members?value=C&sort=member&dir=asc&size=20&page=1"
    assert total_on(r.text) == count(operator, "value_grade = 'C'")


def test_names_are_shown_beside_codes(console, operator):
    page = zh(console("analyst")).get("/members?value=A&size=20")
    table = re.search(r'<table class="data" id="member-list">.*?</table>', page.text, re.S).group(0)
    assert "白金" in table and "在网" in table  # value layer A and status by name, not code
    assert ">A<" not in table and ">active<" not in table


def test_a_masked_role_sees_no_full_phone_number_on_the_list_nor_in_its_export(console):
    c = console("analyst")  # analysts see numbers masked
    page = c.get("/members?size=200")
    assert ids_on(page.text) and not ALL_DIGITS.search(page.text)
    assert re.search(r"1\d\d\*{4}\d{4}", page.text)
    for fmt in ("csv", "xlsx"):
        data = c.get(f"/members/export?format={fmt}").content
        text = data.decode("utf-8-sig") if fmt == "csv" else json.dumps(rows_of_xlsx(data), ensure_ascii=False)
        assert not ALL_DIGITS.search(text), fmt


def rows_of_xlsx(data: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(data), read_only=True).active
    return [[None if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]


def test_the_export_has_chinese_headers_on_the_chinese_page_and_every_filtered_row(console, operator):
    c = zh(console("analyst"))
    r = c.get("/members/export?format=csv&status=active&sort=member&dir=desc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["会员", "姓名", "手机号码", "状态"] and "星级" in rows[0] and "价值分层" in rows[0]
    assert len(rows) - 1 == count(operator, "status = 'active'")  # every page, not only the first
    ids = [row[0] for row in rows[1:]]
    assert ids == sorted(ids, reverse=True)
    assert {row[3] for row in rows[1:]} == {"在网"}
    x = c.get("/members/export?format=xlsx&value=B")
    assert x.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = rows_of_xlsx(x.content)
    assert sheet[0][0] == "会员" and len(sheet) - 1 == count(operator, "value_grade = 'B'")
    assert {row[6] for row in sheet[1:]} == {"黄金"}


def test_the_export_has_english_headers_on_the_english_page(console):
    r = en(console("analyst")).get("/members/export?format=csv&size=20")
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:4] == ["Member", "Name", "Phone", "Status"] and "Value layer" in header


def test_a_pii_role_sees_numbers_and_its_list_and_export_are_audited(console, app):
    from weixi.users.service import audit_entries

    c = console("manager")
    page = c.get("/members?size=20")
    assert ALL_DIGITS.search(page.text)
    export = c.get("/members/export?format=csv&status=active")
    assert ALL_DIGITS.search(export.content.decode("utf-8-sig"))
    views = [
        e
        for e in audit_entries(app.state.engine, 1000, action="pii.view")
        if e["detail"].get("view", "").startswith("member_list")
    ]
    assert {e["detail"]["view"] for e in views} == {"member_list", "member_list_export"}
    exported = next(e for e in views if e["detail"]["view"] == "member_list_export")
    assert exported["detail"]["status"] == "active" and exported["detail"]["fields"] == ["phone"]
    assert any(e["action"] == "members.export" for e in audit_entries(app.state.engine, 1000))


def test_a_search_still_shows_search_results_and_no_filter_bar(console):
    page = console("analyst").get(f"/members?q={op.MEMBER}")
    assert 'id="member-results"' in page.text and 'id="member-filters"' not in page.text


def test_the_empty_fields_of_the_filter_form_are_no_filter_and_a_bad_value_is_refused(console, operator):
    c = console("analyst")
    form = "tier=&star=&value=A&activity=&band=&manager=&status=&contract_before=&size=50&sort=member&dir=asc"
    r = c.get(f"/members/results?{form}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and total_on(r.text) == count(operator, "value_grade = 'A'")
    assert c.get("/members?star=9").status_code == 422
    assert c.get("/members?contract_before=2026-02-30").status_code == 422
    assert c.get("/members?sort=name").status_code == 422


def test_the_list_follows_new_scores_and_archive_loads_without_a_restart(operator):
    """The list reads a table derived from the snapshot, the archive and the scores (at 10,000,000 members joining
    them on every page cost seconds); a change to any of them is seen on the next request."""
    from weixi.members import listing

    found = listing.list_members(operator.data, listing.Filters(), limit=5)
    first = found["rows"][0]["member_id"]
    scores = operator.data / "churn" / "scores" / f"month={op.CLOSED}"
    had_scores = (scores / "part-0.parquet").exists()
    scores.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"COPY (SELECT member_id, 0.99::DOUBLE AS churn_probability, 1::TINYINT AS risk_decile "
        f"FROM read_parquet('{snapshot(operator)}') WHERE member_id = '{first}') "
        f"TO '{scores}/part-0.parquet' (FORMAT PARQUET)"
    )
    high = listing.list_members(operator.data, listing.Filters(band="high"), limit=5)
    assert high["scored"] and [r["member_id"] for r in high["rows"]] == [first], had_scores

    parts = sorted((operator.data / "members").glob("part-*.parquet"))
    path = str(parts[0])
    duckdb.sql(
        f"COPY (SELECT * REPLACE (CASE WHEN member_id = '{first}' THEN '新名字' ELSE name END AS name) "
        f"FROM read_parquet('{path}')) TO '{path}.new' (FORMAT PARQUET)"
    )
    import os

    os.replace(path + ".new", path)
    again = listing.list_members(operator.data, listing.Filters(), limit=5)
    assert again["rows"][0]["name"] == "新名字"
