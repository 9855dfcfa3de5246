"""Every key of the incentive plan language and every `weixi incentives` command is in docs/incentives.md."""

from __future__ import annotations

from pathlib import Path

from weixi.cli.incentives import awards_app, incentives_app
from weixi.incentives import plan_schema
from weixi.plans.spec import ListOf, Shape, Tagged

DOC = (Path(__file__).resolve().parents[3] / "docs" / "incentives.md").read_text(encoding="utf-8")


def keys(kind, seen=None) -> set[str]:
    seen = set() if seen is None else seen
    if isinstance(kind, ListOf):
        return keys(kind.item, seen)
    if isinstance(kind, Tagged):
        fields = dict(kind.common)
        for variant in kind.variants.values():
            fields.update(variant)
    elif isinstance(kind, Shape):
        fields = kind.fields
    else:
        return seen
    for name, field in fields.items():
        seen.add(name)
        keys(field.kind, seen)
    return seen


def test_every_plan_key_is_documented():
    missing = sorted(k for k in keys(plan_schema.PLAN) if f"`{k}`" not in DOC and f"{k}:" not in DOC)
    assert missing == []


def test_every_command_is_documented():
    names = [c.name for c in incentives_app.registered_commands]
    names += [f"awards {c.name}" for c in awards_app.registered_commands]
    assert names and all(f"weixi incentives {n}" in DOC for n in names), names
