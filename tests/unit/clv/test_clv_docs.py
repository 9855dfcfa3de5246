"""Every `weixi clv` command and option is in docs/clv.md, and the README points to it."""

from __future__ import annotations

from pathlib import Path

import typer

from weixi.cli.clv import clv_app

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "clv.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_documented():
    group = typer.main.get_command(clv_app)
    assert set(group.commands) == {"summarise", "fit", "score"}
    missing = []
    for name, command in group.commands.items():
        if f"weixi clv {name}" not in DOC:
            missing.append(name)
        for param in command.params:
            missing += [f"{name} {o}" for o in param.opts if o.startswith("--") and o != "--help" and o not in DOC]
    assert missing == []


def test_readme_mentions_the_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "weixi clv fit" in readme and "docs/clv.md" in readme
