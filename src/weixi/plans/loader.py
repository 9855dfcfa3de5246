"""Load and check plan files: the public entry point of :mod:`weixi.plans`.

The pipeline is a chain of stages, each returning its value and its diagnostics:
YAML text -> positioned nodes (:mod:`yaml_source`) -> spec (:mod:`spec` with
:mod:`schema`) -> resolved :class:`Plan` (:mod:`resolve`) -> warnings (:mod:`lint`).
Only this module reads files.
"""

from __future__ import annotations

import os
from pathlib import Path

from weixi.plans import schema
from weixi.plans.diagnostics import Diagnostic, Pos, Report
from weixi.plans.kinds import kind_of, kinds
from weixi.plans.lint import lint
from weixi.plans.model import Plan
from weixi.plans.resolve import resolve
from weixi.plans.spec import Spec, read
from weixi.plans.yaml_source import MAX_PLAN_BYTES, Mapping, Scalar, parse, too_large

__all__ = ["check_files", "load_plan", "load_plan_text"]


def load_plan_text(text: str, filename: str) -> tuple[Plan | None, list[Diagnostic]]:
    """Check ``text``; the plan is ``None`` exactly when a diagnostic is an error.

    A file with a top-level ``kind`` other than ``points`` is checked by the package that registered that kind
    in :mod:`weixi.plans.kinds` (campaigns, operations, incentives)."""
    node, diagnostics = parse(text, filename)
    if node is None:
        return None, diagnostics
    report = Report(filename)
    if isinstance(node, Scalar) and node.value is None:
        report.error(Pos(1, 1), "plan_empty")
        return None, report.items
    if not isinstance(node, Mapping):
        report.error(node.pos, "plan_not_a_mapping")
        return None, report.items
    kind = kind_of(node)
    if kind is not None:  # kind: campaign | operations | incentive | scorecard | ... (weixi.plans.kinds)
        return kind.load(node, filename)
    node = Mapping(tuple(e for e in node.entries if e.key != "kind"), node.pos)  # kind: points is the default
    val = read(node, schema.PLAN, report)
    spec: Spec = val.value
    plan = resolve(spec, filename, report)
    lint(spec, plan, report)
    found = sorted(report.items, key=Diagnostic.sort_key)
    return (None if report.has_errors else plan), found


def load_plan(path: str | os.PathLike) -> tuple[Plan | None, list[Diagnostic]]:
    """Read and check one plan file; an unreadable file is an error at line 1, column 1."""
    filename = str(path)
    try:
        size = os.stat(path).st_size
        if size > MAX_PLAN_BYTES:  # refused unread
            return None, [Diagnostic(filename, 1, 1, "error", "plan_too_large", too_large(size))]
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [_cannot_read(filename, "no_such_file")]
    except IsADirectoryError:
        return None, [_cannot_read(filename, "is_a_directory")]
    except UnicodeDecodeError as exc:
        params = {"detail": exc.reason, "byte": exc.start}
        return None, [Diagnostic(filename, 1, 1, "error", "plan_not_utf8", params)]
    except OSError as exc:
        return None, [_cannot_read(filename, exc.strerror or str(exc))]
    return load_plan_text(text, filename)


def check_files(paths) -> list[Diagnostic]:
    """Every diagnostic of every file, sorted by file, line and column."""
    found: list[Diagnostic] = []
    plans = []
    for path in paths:
        plan, diagnostics = load_plan(path)
        found.extend(diagnostics)
        if plan is not None:
            plans.append(plan)
    for kind in {id(k): k for k in kinds().values()}.values():  # e.g. two incentive plans in force for one business
        if kind.check_together is not None:
            found.extend(kind.check_together([p for p in plans if isinstance(p, kind.plan_type)]))
    return sorted(found, key=Diagnostic.sort_key)


def _cannot_read(filename: str, reason: str) -> Diagnostic:
    """``reason``: a ``reason.<name>`` of the catalogue (``no_such_file``) or the system's own words."""
    return Diagnostic(filename, 1, 1, "error", "plan_unreadable", {"reason": reason})
