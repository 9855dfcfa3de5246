"""Every reward type the plan language accepts has a display name in Chinese and in English (``reward_type`` in
``names.po``), and the catalogue page shows it by name: the seed's 现金红包 ("提供多种兑换方式,如兑换商品、优惠券、
现金红包等", plans/examples/points-activity-scheme.yaml) reads 现金红包 / Cash red packet, not ``red_packet``."""

from __future__ import annotations

import html
import re

import pytest

from tests.console import operator as op
from weixi import names
from weixi.plans import schema
from weixi.plans import service as plans
from weixi.plans.model import RewardType

CJK = re.compile(r"[\u4e00-\u9fff]")
SCHEME = op.ROOT / "plans" / "examples" / "points-activity-scheme.yaml"


def test_the_plan_language_and_the_model_know_the_same_reward_types():
    assert set(schema.REWARD.variants) == {t.value for t in RewardType}


@pytest.mark.parametrize("kind", sorted(schema.REWARD.variants))
def test_every_reward_type_has_a_name_in_both_languages(kind):
    zh, en = names.registry("zh_CN"), names.registry("en")
    assert CJK.search(zh.get(f"reward_type.{kind}", "")), f"reward type {kind} has no Chinese name"
    english = en.get(f"reward_type.{kind}", "")
    assert english and english[0].isupper() and "_" not in english, f"reward type {kind} has no English name"


def type_cells(page: str) -> dict[str, str]:
    rows = re.findall(r'<tr data-reward="([^"]+)"[^>]*>\s*<td>.*?</td>\s*<td>(.*?)</td>', page, re.S)
    return {rid: re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", cell))).strip() for rid, cell in rows}


def test_the_catalogue_page_names_every_reward_type_with_the_red_packet_in_both_languages(console, app):
    plans.apply_plan(app.state.engine, SCHEME)
    admin = console("admin")
    zh = type_cells(admin.get("/catalogue").text)
    assert zh["red-packet-5"] == "现金红包 · 现金 5.00 元"  # 5元现金红包: cash_yuan 5
    assert zh["bill-1"].startswith("话费抵扣") and zh["gift-500"] == "实物礼品"
    for rid, cell in zh.items():
        assert not re.search(r"[a-z]+_[a-z]+", cell) and CJK.search(cell), (rid, cell)
    admin.get("/lang/en?next=%2Fcatalogue")
    en = type_cells(admin.get("/catalogue").text)
    assert en["red-packet-5"] == "Cash red packet · 5.00 yuan in cash"
    assert en["gift-500"] == "Gift"
    for rid, cell in en.items():
        assert not re.search(r"[a-z]+_[a-z]+", cell) and not CJK.search(cell), (rid, cell)
