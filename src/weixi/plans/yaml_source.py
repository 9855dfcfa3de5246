"""Read plan YAML into a small tree of positioned nodes.

This is the only module that knows about ruamel.yaml. Its round-trip loader keeps the
line and column of every mapping key, value and sequence item; we copy them into
:class:`Mapping`, :class:`Sequence` and :class:`Scalar` nodes with 1-based positions.

Two scalar kinds are kept as their source text instead of being constructed:

* floats become :class:`FloatText`, so ``1.2`` can be read as ``Decimal("1.2")``
  without ever passing through a binary float;
* timestamps become :class:`DateText`, so an impossible date such as ``2026-02-30``
  is reported as a diagnostic by the checker instead of raising inside the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError

from weixi.plans.diagnostics import Diagnostic, Pos, Report


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


def _float_as_text(constructor, node) -> FloatText:
    return FloatText(node.value)


def _timestamp_as_text(constructor, node) -> DateText:
    return DateText(node.value)


_Constructor.add_constructor("tag:yaml.org,2002:float", _float_as_text)
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


def parse(text: str, filename: str) -> tuple[Node | None, list[Diagnostic]]:
    """Parse ``text``; a syntax error becomes one diagnostic at its position."""
    report = Report(filename)
    try:
        data = _yaml().load(text)
    except DuplicateKeyError as exc:  # its context is the mapping, not the first key: leave it out
        report.error(_mark_pos(exc), f"invalid YAML: {_clean(exc.problem)}")
        return None, report.items
    except MarkedYAMLError as exc:
        message = _clean(exc.problem or "")
        if exc.context:
            message = f"{message} ({_clean(exc.context)})"
        report.error(_mark_pos(exc), f"invalid YAML: {message}")
        return None, report.items
    except Exception as exc:  # any other parser failure still must not become a traceback
        report.error(Pos(1, 1), f"invalid YAML: {exc}")
        return None, report.items
    return _to_node(data, Pos(1, 1)), report.items


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
