"""docs/campaigns.md names every key of the campaign file and every `weixi campaign` command."""

from __future__ import annotations

from pathlib import Path

from weixi.campaigns import schema
from weixi.cli.campaigns import campaign_app
from weixi.plans.spec import ListOf, Shape

DOC = (Path(__file__).resolve().parents[3] / "docs" / "campaigns.md").read_text(encoding="utf-8")


def keys(kind, seen=None) -> set[str]:
    seen = set() if seen is None else seen
    if isinstance(kind, ListOf):
        return keys(kind.item, seen)
    if isinstance(kind, Shape):
        for name, field in kind.fields.items():
            seen.add(name)
            keys(field.kind, seen)
    return seen


def test_every_key_is_documented():
    missing = sorted(k for k in keys(schema.CAMPAIGN) if k not in DOC)
    assert missing == []


def test_every_command_is_documented():
    names = [c.name for c in campaign_app.registered_commands]
    assert len(names) >= 25
    assert [n for n in names if n not in DOC] == []
