"""Pages show the names of domain codes (:mod:`weixi.names`) in the reader's language, not the codes: the member
page's ledger entries, payment type and card role, and the logged-in role in the header."""

from __future__ import annotations

from tests.console import operator as op


def test_the_member_page_names_codes_in_chinese_and_in_english(console):
    manager = console("manager")
    page = manager.get(f"/members/{op.MEMBER}").text
    assert "客户经理" in page  # the header's role
    assert any(name in page for name in ("预付费", "后付费")) and "postpaid" not in page.replace('"postpaid"', "")
    assert "<td>earn</td>" not in page and "<td>获得</td>" in page
    manager.get("/lang/en?next=%2F")
    english = manager.get(f"/members/{op.MEMBER}").text
    assert "Customer manager" in english and "<td>Earned</td>" in english and "<td>获得</td>" not in english
