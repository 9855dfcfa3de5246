"""Small helpers for plan loader tests: load text, pick errors and warnings."""

from __future__ import annotations

from textwrap import dedent

from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan_text

HEAD = """\
plan: p
name: P
expiry: {months_after: 12}
"""  # three lines: text appended to HEAD starts at line 4


def load(body: str, head: str = HEAD):
    return load_plan_text(head + dedent(body), "p.yaml")


def errors(body: str, head: str = HEAD) -> list[Diagnostic]:
    return [d for d in load(body, head)[1] if d.severity == "error"]


def warnings(body: str, head: str = HEAD) -> list[Diagnostic]:
    return [d for d in load(body, head)[1] if d.severity == "warning"]


def one_error(body: str, head: str = HEAD) -> Diagnostic:
    plan, found = load(body, head)
    errs = [d for d in found if d.severity == "error"]
    assert plan is None
    assert len(errs) == 1, [d.format() for d in found]
    return errs[0]


def at(diagnostic: Diagnostic) -> tuple[int, int]:
    return diagnostic.line, diagnostic.column
