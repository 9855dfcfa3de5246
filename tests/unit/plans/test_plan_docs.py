"""Every key of the plan schema is documented in docs/plan-language.md."""

from __future__ import annotations

from pathlib import Path

from weixi.plans import schema
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.spec import Either, ListOf, Shape, Tagged

DOC = (Path(__file__).resolve().parents[3] / "docs" / "plan-language.md").read_text(encoding="utf-8")


def keys(kind) -> set[str]:
    if isinstance(kind, Either):
        return keys(kind.shape)
    if isinstance(kind, ListOf):
        return keys(kind.item)
    if isinstance(kind, Shape):
        return set(kind.fields) | {k for f in kind.fields.values() for k in keys(f.kind)}
    if isinstance(kind, Tagged):
        fields = dict(kind.common)
        for variant in kind.variants.values():
            fields.update(variant)
        return set(fields) | set(kind.variants) | {k for f in fields.values() for k in keys(f.kind)}
    return set()


def test_every_schema_key_and_type_is_documented():
    missing = sorted(k for k in keys(schema.PLAN) if k not in DOC)
    assert missing == []


def test_every_event_type_is_documented():
    assert all(f"`{event}`" in DOC for event in schema.EVENT_TYPES)


def test_diagnostic_format_and_json():
    d = Diagnostic("plans/a.yaml", 3, 7, "error", "plan_unknown_key", {"key": "x", "noun": "plan"})
    assert d.format() == "plans/a.yaml:3:7: error: unknown key 'x' in plan"
    assert d.to_json() == {
        "file": "plans/a.yaml",
        "line": 3,
        "column": 7,
        "severity": "error",
        "code": "plan_unknown_key",
        "params": {"key": "x", "noun": "plan"},
        "message": "unknown key 'x' in plan",
    }
