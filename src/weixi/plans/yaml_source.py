"""Read plan YAML into a small tree of positioned nodes.

This is the only module that knows about ruamel.yaml. Its round-trip loader keeps the
line and column of every mapping key, value and sequence item; we copy them into
:class:`Mapping`, :class:`Sequence` and :class:`Scalar` nodes with 1-based positions.

Two scalar kinds are kept as their source text instead of being constructed:

* floats become :class:`FloatText`, so ``1.2`` can be read as ``Decimal("1.2")``
  without ever passing through a binary float;
* timestamps become :class:`DateText`, so an impossible date such as ``2026-02-30``
  is reported as a diagnostic by the checker instead of raising inside the parser.

Plan files are untrusted input (``POST /api/plans/check`` takes any operator's text), so
the parser refuses what could make a small file cost unbounded time: anchors and
aliases (``&a``/``*a``: each level of a nested alias multiplies the tree, a billion
laughs), files over :data:`MAX_PLAN_BYTES`, and nesting deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError, MaxDepthExceededError
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

from weixi.plans.diagnostics import Diagnostic, Pos, Report

MAX_PLAN_BYTES = 1024 * 1024  # a plan file over 1 MiB is refused before it is parsed
MAX_DEPTH = 64  # nested mappings and sequences; real plans use fewer than 10 levels
NO_ANCHORS = "anchors and aliases (&name, *name) are not allowed in plan files"


class FloatText(str):
    """A YAML float, kept as the text written in the file."""


class DateText(str):
    """A YAML timestamp, kept as the text written in the file."""


@dataclass(frozen=True)
class Scalar:
    value: object  # str, int, bool, None, FloatText or DateText
    pos: Pos


@dataclass(frozen=True)
class Entry:
    key: object
    key_pos: Pos
    value: "Node"


@dataclass(frozen=True)
class Mapping:
    entries: tuple[Entry, ...]
    pos: Pos

    def get(self, key: str) -> Entry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None


@dataclass(frozen=True)
class Sequence:
    items: tuple["Node", ...]
    pos: Pos


Node = Union[Scalar, Mapping, Sequence]


class _Constructor(RoundTripConstructor):
    pass


class _Composer(Composer):
    """Refuses the first anchor or alias, at its position."""

    def compose_node(self, parent, index):
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, NO_ANCHORS, event.start_mark)
        return super().compose_node(parent, index)


def _float_as_text(constructor, node) -> FloatText:
    return FloatText(node.value)


def _timestamp_as_text(constructor, node) -> DateText:
    return DateText(node.value)


_Constructor.add_constructor("tag:yaml.org,2002:float", _float_as_text)
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Composer = _Composer
    yaml.max_depth = MAX_DEPTH
    return yaml


def parse(text: str, filename: str) -> tuple[Node | None, list[Diagnostic]]:
    """Parse ``text``; a syntax error becomes one diagnostic at its position."""
    report = Report(filename)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PLAN_BYTES:
        report.error(Pos(1, 1), "plan_too_large", **too_large(size))
        return None, report.items
    try:
        data = _yaml().load(text)
    except DuplicateKeyError as exc:  # its context is the mapping, not the first key: leave it out
        duplicate = _DUPLICATE.match(_clean(exc.problem))
        if duplicate:
            report.error(_mark_pos(exc), "plan_yaml_duplicate_key", **duplicate.groupdict())
        else:
            report.error(_mark_pos(exc), "plan_invalid_yaml", detail=_clean(exc.problem))
        return None, report.items
    except MaxDepthExceededError as exc:
        report.error(_mark_pos(exc), "plan_yaml_too_deep", limit=MAX_DEPTH)
        return None, report.items
    except MarkedYAMLError as exc:
        message = _clean(exc.problem or "")
        if exc.context:
            message = f"{message} ({_clean(exc.context)})"
        report.error(_mark_pos(exc), "plan_invalid_yaml", detail=message)
        return None, report.items
    except Exception as exc:  # any other parser failure still must not become a traceback
        report.error(Pos(1, 1), "plan_invalid_yaml", detail=str(exc))
        return None, report.items
    return _to_node(data, Pos(1, 1)), report.items


def too_large(size: int) -> dict:
    """The params of ``plan_too_large``."""
    return {"limit": MAX_PLAN_BYTES // 1024 // 1024, "size": size}


_DUPLICATE = re.compile(
    r'^found duplicate key "(?P<key>[^"]*)" with value "(?P<value>[^"]*)" '
    r'\(original value: "(?P<original>[^"]*)"\)$'
)


def _mark_pos(exc: MarkedYAMLError) -> Pos:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return Pos(1, 1)
    return Pos(mark.line + 1, mark.column + 1)


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _lc(pair, fallback: Pos) -> Pos:
    if not pair:
        return fallback
    return Pos(pair[0] + 1, pair[1] + 1)


def _to_node(data, pos: Pos) -> Node:
    if isinstance(data, dict):
        entries = []
        for key, value in data.items():
            try:
                key_pos = _lc(data.lc.key(key), pos)
            except (KeyError, AttributeError, TypeError):  # merged keys have no own position
                key_pos = pos
            value_pos = key_pos
            if value is not None:
                try:
                    value_pos = _lc(data.lc.value(key), key_pos)
                except (KeyError, AttributeError, TypeError):
                    pass
            entries.append(Entry(key, key_pos, _to_node(value, value_pos)))
        return Mapping(tuple(entries), pos)
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            try:
                item_pos = _lc(data.lc.item(index), pos)
            except (KeyError, AttributeError, TypeError):
                item_pos = pos
            items.append(_to_node(value, item_pos))
        return Sequence(tuple(items), pos)
    return Scalar(data, pos)
