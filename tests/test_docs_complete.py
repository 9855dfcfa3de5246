"""Docs enforced by introspection: every CLI command and every API route is documented.

A command counts as documented when a hand-written page (README.md or docs/*.md, not the generated docs/cli.md) names
it as ``weixi <group> <cmd>``; an API route when docs/api.md has its row (`` `METHOD /path` ``). docs/cli.md, the
generated reference of every command's arguments and options, must be current.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route

from weixi.cli import reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = {"cli.md", "settings.md"}


def _hand_written() -> str:
    pages = [ROOT / "README.md"] + [p for p in sorted(DOCS.glob("*.md")) if p.name not in GENERATED]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


def _routes(routes, prefix: str = ""):
    """(METHOD, path) of every route, through the routers the app included (FastAPI ≥ 0.160 keeps them nested)."""
    for r in routes:
        if hasattr(r, "original_router"):
            yield from _routes(r.original_router.routes, prefix + r.include_context.prefix)
        elif isinstance(r, Route):
            for method in sorted(r.methods - {"HEAD"}):
                yield method, prefix + re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path)  # {task_id:path} -> {task_id}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from weixi.api.app import create_app

    tmp = tmp_path_factory.mktemp("docs")
    return create_app(f"sqlite:///{tmp / 'weixi.db'}", str(tmp / "data"), recover_jobs=False)


def test_every_command_is_documented():
    names = [name for name, _ in reference.commands()]
    assert len(names) >= 90
    docs = _hand_written()
    assert [n for n in names if not re.search(re.escape(n) + r"(?![\w-])", docs)] == []


def test_every_command_has_help_text():
    assert [name for name, cmd in reference.commands() if len((cmd.help or "").strip()) < 10] == []


def test_the_command_reference_is_current():
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert page == reference.render_markdown(), "docs/cli.md is stale: python -m weixi.cli.reference > docs/cli.md"


def test_every_api_route_has_its_row_in_api_md(app):
    ops = [f"{m} {p}" for m, p in _routes(app.routes) if p.startswith("/api/")]
    assert len(ops) >= 85
    doc = (DOCS / "api.md").read_text(encoding="utf-8")
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    assert [op for op in ops if not any(row.startswith(f"| `{op}`") for row in rows)] == []


def test_the_other_routes_are_named_in_the_docs(app):
    """The spec, Swagger UI and the console's pages: named in a guide (`METHOD /path` or the bare path in backquotes
    for a page)."""
    docs = _hand_written()
    missing = [
        f"{m} {p}"
        for m, p in _routes(app.routes)
        if not p.startswith(("/api/", "/static")) and f"`{m} {p}`" not in docs and (m != "GET" or f"`{p}`" not in docs)
    ]
    assert missing == []
