"""The error catalogue (``weixi/locale/*/LC_MESSAGES/errors.po``): every code raised in ``src/`` has a sentence in
English and Chinese that its params fill, a hint and an HTTP status; ``docs/errors.md`` is what the catalogue
says; and the renderer speaks the caller's language."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from weixi import errors_doc, messages
from weixi.errors import Conflict, NotFound, Problem, Where
from weixi.ledger.book import Rejected
from weixi.ledger.redemption import RedemptionError, RequestReused, UnknownReward

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "weixi"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
BASES = {"WeixiError", "Invalid", "NotFound", "Conflict", "Forbidden", "Unavailable"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _trees() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in sorted(SRC.rglob("*.py"))]


def error_classes(trees) -> set[str]:
    """Names of WeixiError and every class in src/ that derives from it (by name, to a fixed point)."""
    known, grew = set(BASES), True
    while grew:
        grew = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in known
                    and any(_name(b) in known for b in node.bases)
                ):
                    known.add(node.name)
                    grew = True
    return known


def raised_codes() -> dict[str, list[tuple[str, set[str] | None]]]:
    """Every literal code given to an error class or to ``Problem`` in src/: where, and the param names it
    passes (None when they cannot be read: ``**params``)."""
    trees = _trees()
    classes = error_classes(trees) | {"Problem"}
    found: dict[str, list[tuple[str, set[str] | None]]] = {}
    for path, tree in trees:
        inits = {
            id(n)
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef) and c.name in classes
            for n in ast.walk(c)
            if isinstance(n, ast.Call) and _name(n.func) == "__init__"
        }  # super().__init__
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and (_name(node.func) in classes or id(node) in inits) and node.args):
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str) and CODE.match(first.value)):
                continue
            names: set[str] | None = {k.arg for k in node.keywords if k.arg}
            if any(k.arg is None for k in node.keywords):
                names = None
            if _name(node.func) == "Problem":
                params = (
                    node.args[1]
                    if len(node.args) > 1
                    else next((k.value for k in node.keywords if k.arg == "params"), None)
                )
                if params is None:
                    names = set()
                elif isinstance(params, ast.Dict) and all(isinstance(k, ast.Constant) for k in params.keys):
                    names = {k.value for k in params.keys}
                else:
                    names = None
            found.setdefault(first.value, []).append((f"{path.relative_to(ROOT)}:{node.lineno}", names))
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_code_raised_in_src_has_both_sentences_filled_by_its_params():
    found = raised_codes()
    assert {
        "not_enough_points",
        "out_of_stock",
        "member_limit",
        "tier_not_allowed",
        "outside_window",
        "unknown_reward",
        "request_id_reused",
        "month_closed",
    } <= set(found)
    missing, unfilled = [], []
    for code, sites in sorted(found.items()):
        for locale in messages.LOCALES:
            entry = messages.catalogue(locale).get(code)
            if entry is None:
                missing.append(f"{code} ({locale}) raised at {sites[0][0]}")
                continue
            for where, names in sites:
                if names is not None and not placeholders(entry.text) <= names:
                    unfilled.append(f"{where}: {code} ({locale}) needs {sorted(placeholders(entry.text) - names)}")
    assert not missing, "codes without a translation:\n" + "\n".join(missing)
    assert not unfilled, "sentences whose params are not given:\n" + "\n".join(unfilled)


def test_every_catalogue_entry_is_in_both_languages_with_a_hint_and_a_status():
    en, zh = messages.catalogue("en"), messages.catalogue("zh_CN")
    assert set(en) == set(zh), set(en) ^ set(zh)
    for code in messages.codes():
        assert code + ".hint" in en, code
        assert en[code].status in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503, 504), code
        assert placeholders(zh[code].text) <= placeholders(en[code].text) | {"start", "end"}, code


def test_docs_errors_md_is_generated_from_the_catalogue():
    doc = ROOT / "docs" / "errors.md"
    assert doc.read_text(encoding="utf-8") == errors_doc.markdown(), "run: python -m weixi.errors_doc"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh_CN"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-US,zh;q=0.5", "en"),
        ("fr, zh;q=0.3", "zh_CN"),
        ("fr, de", "en"),
        ("zh;q=0", "en"),
    ],
)
def test_accept_language_picks_the_callers_language(header, locale):
    assert messages.accept_language(header) == locale


def test_render_fills_params_names_values_and_joins_lists():
    limit = Rejected("member_limit", reward="gift", limit=2, period="month", used=2, qty=1)
    assert limit.reason == "limit: gift allows 2 per member per month; already 2, asked 1"
    assert messages.render(limit, "zh_CN") == "超出限兑：gift 每位会员每月限兑 2 件，已兑 2 件，本次申请 1 件"
    assert messages.render(limit, "zh_CN", "member") == "您已达到此奖品本月的兑换上限。"
    tiers = Conflict("tier_not_allowed", reward="vip", tiers=("gold", "silver"), tier="basic")
    assert str(tiers) == "reward vip is for tiers gold, silver; member is basic"
    assert messages.render(tiers, "zh-CN") == "奖励 vip 仅限 gold、silver 等级兑换；该会员为 basic"
    assert messages.render(Problem("no_such_code", {"n": 1})) == "no_such_code(n=1)"


def test_errors_carry_plain_params_and_their_class_status():
    from datetime import date
    from decimal import Decimal

    err = Rejected("refund_over_amount", "amount", event="b1", total=Decimal("12.50"), amount=Decimal("10"))
    assert err.params == {"event": "b1", "total": "12.50", "amount": "10"} and err.field == "amount"
    assert err.where == Where(field="amount") and err.status == 409
    assert Rejected("already_checked_in", day=date(2026, 11, 2)).params == {"day": "2026-11-02"}
    assert Rejected.of(err.problem).reason == err.reason
    assert UnknownReward("unknown_reward", reward="x").status == 404 and isinstance(UnknownReward("u"), NotFound)
    assert RequestReused().status == 409 and RequestReused().where == Where(field="request_id")
    assert isinstance(RequestReused(), RedemptionError)
    envelope = messages.envelope(Conflict("out_of_stock", reward="tea", left=1, qty=2), "zh_CN")
    assert envelope == {
        "error": {
            "code": "out_of_stock",
            "message": "库存不足：tea 仅剩 1 件，申请 2 件",
            "params": {"reward": "tea", "left": 1, "qty": 2},
            "where": None,
            "details": [],
        }
    }
