"""The campaign form: a campaign file as the fields of a form, the posted form written back into the file, and the
checker's diagnostics placed beside the fields they concern.

The file stays the truth. :func:`to_form` reads the sections the form shows (basics, window, objectives, audience,
budget, the draw with its prizes and hours, milestones, channels, risks, evaluation) as text values;
:func:`apply_form` writes posted values into the file the form came from with ruamel.yaml's round-trip loader, so
a value the form did not change keeps its spelling and comments, and the sections the form does not show
(leaderboard, referral, gifts, …) are kept as they are. :func:`place` maps each diagnostic's line and column to the
form field, table row or section it concerns, through the positions of the checked text.

Pure: text in, text out; no database, no request.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from weixi.campaigns import model as m
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.yaml_source import Mapping, Node, Sequence, parse

# How a value is written into the file: text as text, a number as an integer or a quoted decimal (exact),
# a date as a YAML date, a time of day quoted ("15:30"), a list as a flow list. "csv" is a comma-separated list on one line; "lines" one item a line.
TEXT, NUMBER, DATE, CLOCK, CSV, LINES = "text", "number", "date", "clock", "csv", "lines"


@dataclass(frozen=True)
class Input:
    name: str  # dotted path in the file: "window.from", "audience.control.share"
    kind: str = TEXT
    choices: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))


@dataclass(frozen=True)
class Table:
    name: str  # dotted path of the list: "objectives", "lottery.prizes"
    columns: tuple[Input, ...]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))


LEVELS = tuple(str(n) for n in range(1, 6))
SCALARS = (
    Input("campaign"),
    Input("name"),
    Input("description"),
    Input("owner"),
    Input("timezone"),
    Input("window.from", DATE),
    Input("window.to", DATE),
    Input("cost_per_point", NUMBER),
    Input("points_rules", CSV),
    Input("key_clients", CSV),
    Input("audience.source", choices=("ledger", "snapshot", "list")),
    Input("audience.month"),
    Input("audience.tiers", CSV),
    Input("audience.members", LINES),
    Input("audience.control.share", NUMBER),
    Input("lottery.hours.from", CLOCK),
    Input("lottery.hours.to", CLOCK),
    Input("lottery.budget_line", choices=m.BUDGET_LINES),
    Input("lottery.daily_total", NUMBER),
    Input("lottery.blanks_per_day", NUMBER),
    Input("lottery.chances.per_yuan", NUMBER),
    Input("lottery.chances.buy_points", NUMBER),
    Input("lottery.chances.grant", NUMBER),
    Input("lottery.chances.max_per_day", NUMBER),
    Input("evaluation.outcome", choices=m.OUTCOMES),
    Input("evaluation.margin_share", NUMBER),
)
TABLES = (
    Table(
        "objectives",
        (Input("id"), Input("name"), Input("metric", choices=tuple(m.METRICS)), Input("target", NUMBER)),
    ),
    Table(
        "budget",
        (Input("line", choices=m.BUDGET_LINES), Input("yuan", NUMBER), Input("points", NUMBER), Input("note")),
    ),
    Table(
        "lottery.prizes",
        (
            Input("id"),
            Input("name"),
            Input("per_day", NUMBER),
            Input("value_yuan", NUMBER),
            Input("points", NUMBER),
        ),
    ),
    Table("milestones", (Input("id"), Input("name"), Input("owner"), Input("due", DATE))),
    Table(
        "channels",
        (
            Input("id"),
            Input("channel", choices=m.CHANNELS),
            Input("send_on", DATE),
            Input("to", choices=("treatment", "participants")),
            Input("template"),
        ),
    ),
    Table(
        "risks",
        (
            Input("id"),
            Input("category", choices=m.RISK_CATEGORIES),
            Input("description"),
            Input("likelihood", NUMBER, LEVELS),
            Input("impact", NUMBER, LEVELS),
            Input("response"),
            Input("owner"),
        ),
    ),
)
SCALAR_BY_NAME = {i.name: i for i in SCALARS}
TABLE_BY_NAME = {t.name: t for t in TABLES}
# The order of the file's top-level keys when the form adds one (docs/campaigns.md "The file").
ORDER = (
    "kind campaign name description owner timezone window objectives audience key_clients budget cost_per_point "
    "points_rules milestones channels risks lottery leaderboard referral checkin_streaks gifts follow_ups evaluation"
).split()
SUB_ORDER = {
    "window": ("from", "to"),
    "audience": ("source", "month", "where", "tiers", "members", "control"),
    "lottery": ("budget_line", "daily_total", "hours", "blanks_per_day", "chances", "prizes"),
    "hours": ("from", "to"),
    "chances": ("per_yuan", "buy_points", "grant", "max_per_day"),
    "evaluation": ("outcome", "margin_share"),
}
FLOW = {"window", "hours", "chances", "control", "evaluation"}  # small mappings written on one line
# The sections of the form and the top-level keys each shows (the rest are edited on the YAML tab).
SECTIONS = {
    "basics": ("kind", "campaign", "name", "description", "owner", "timezone", "window"),
    "objectives": ("objectives",),
    "audience": ("audience", "key_clients"),
    "budget": ("budget", "cost_per_point", "points_rules"),
    "lottery": ("lottery",),
    "milestones": ("milestones",),
    "channels": ("channels",),
    "risks": ("risks",),
    "evaluation": ("evaluation",),
}
SECTION_OF = {key: section for section, keys in SECTIONS.items() for key in keys}
HIDDEN = {("audience", "where")}  # nested keys the form does not show (the YAML tab does)
ORIG = "_orig"  # a row's hidden field: its index in the file the form came from ("" for a new row)
TABLES_FIELD = "_tables"  # a hidden field per table the page holds


@dataclass
class Form:
    """The form's values as the page shows them: ``values`` by input name, ``rows`` by table name (each row a dict
    of column -> text, plus ``_orig``), whether the campaign has a draw, and the file's sections the form does not
    show (edited on the YAML tab). A posted form names its tables (``_tables``), so that a table whose rows were
    all deleted is told from one the post did not carry."""

    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    lottery: bool = False
    others: list[str] = field(default_factory=list)
    tables: set[str] | None = None  # the tables the post carried (None: all); a table not posted is left as it is


def round_trip_yaml() -> YAML:
    """ruamel.yaml's round-trip reader and writer, in the shipped files' style (quotes kept, two-space lists)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # a long Chinese template stays on its line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(text: str) -> CommentedMap | None:
    """The file as a round-trip tree, or None when the checker's parser refuses it (syntax, anchors, size) or it
    is not a mapping: the YAML tab shows why."""
    node, diagnostics = parse(text, "campaign.yaml")
    if node is None or not isinstance(node, Mapping):
        return None
    data = round_trip_yaml().load(text)
    return data if isinstance(data, CommentedMap) else None


def shown(value: object, kind: str = TEXT) -> str:
    """A file value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ("\n" if kind == LINES else ", ").join(shown(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _get(data: object, path: tuple) -> object:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def to_form(text: str) -> Form | None:
    """The form for a campaign file (None when it cannot be read: see :func:`load`)."""
    data = load(text)
    if data is None:
        return None
    form = Form(lottery="lottery" in data)
    for item in SCALARS:
        value = _get(data, item.path)
        form.values[item.name] = "" if isinstance(value, dict) else shown(value, item.kind)
    for table in TABLES:
        items = _get(data, table.path)
        rows = []
        for index, item in enumerate(items if isinstance(items, list) else []):
            row = {c.name: shown(item.get(c.name), c.kind) if isinstance(item, dict) else "" for c in table.columns}
            row[ORIG] = str(index)
            rows.append(row)
        form.rows[table.name] = rows
    form.others = [str(key) for key in data if key not in SECTION_OF] + [
        f"{parent}.{key}"
        for parent, key in sorted(HIDDEN)
        if isinstance(data.get(parent), dict) and key in data[parent]
    ]
    return form


def from_post(items: list[tuple[str, str]]) -> Form:
    """The form as posted: scalar inputs by name, table cells named ``<table>.<row>.<column>`` in page order (a
    row's number only ties its cells together: rows keep the order of the page), ``lottery`` on when checked."""
    form = Form(rows={t.name: [] for t in TABLES}, tables=set())
    rows: dict[str, dict[str, dict[str, str]]] = {t.name: {} for t in TABLES}
    for name, value in items:
        value = value.replace("\r\n", "\n").strip()
        if name == "has_lottery":
            form.lottery = value not in ("", "0", "false")
        elif name == TABLES_FIELD:
            form.tables = (form.tables or set()) | ({value} if value in rows else set())
        elif name in SCALAR_BY_NAME:
            form.values[name] = value
        else:
            table, _, rest = name.rpartition(".")  # "<table>.<row>" and the column
            table, _, row = table.rpartition(".")
            if table in rows and row.isdigit():
                rows[table].setdefault(row, {})[rest] = value
    for table, found in rows.items():
        form.rows[table] = list(found.values())  # dicts keep the order rows first appeared in the post
    return form


# --- writing the form into the file --------------------------------------------------------------------------


def typed(value: str, kind: str) -> object:
    """A form value as the file writes it: integers as integers, other numbers quoted (read as exact decimals),
    lists as flow lists, everything else as text (the checker reports what does not fit, beside the field)."""
    if kind == NUMBER and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if kind == DATE and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # written as typed: the checker says why it is not a date
    if kind == CLOCK:
        return DoubleQuotedScalarString(value)
    if kind in (CSV, LINES):
        parts = value.split("\n") if kind == LINES else value.replace("，", ",").split(",")
        seq = CommentedSeq(p.strip() for p in parts if p.strip())
        seq.fa.set_flow_style()
        return seq
    return value


def _same(old: object, value: str, kind: str) -> bool:
    return old is not None and not isinstance(old, dict) and shown(old, kind) == value


def _place_key(mapping: CommentedMap, key: str, value: object, order: tuple[str, ...]) -> None:
    """Set ``key``; a new key goes after the keys that come before it in ``order``."""
    if key in mapping:
        mapping[key] = value
        return
    before = order[: order.index(key)] if key in order else order
    position = 0
    for index, existing in enumerate(mapping):
        if existing in before:
            position = index + 1
    mapping.insert(position, key, value)


def _mapping(parent: CommentedMap, key: str, order: tuple[str, ...]) -> CommentedMap:
    child = parent.get(key)
    if not isinstance(child, CommentedMap):
        child = CommentedMap()
        if key in FLOW:
            child.fa.set_flow_style()
        _place_key(parent, key, child, order)
    return child


def _set(data: CommentedMap, path: tuple[str, ...], value: str, kind: str) -> None:
    parent, order = data, tuple(ORDER)
    for key in path[:-1]:
        if not value and not isinstance(parent.get(key), dict):
            return  # nothing to write and nothing to clear
        parent = _mapping(parent, key, order)
        order = SUB_ORDER.get(key, ())
    key = path[-1]
    if not value:
        parent.pop(key, None)
    elif not _same(parent.get(key), value, kind):
        _place_key(parent, key, typed(value, kind), order)


def _prune(data: CommentedMap, path: tuple[str, ...]) -> None:
    """Drop the mappings along ``path`` that the form emptied (deepest first)."""
    for depth in range(len(path) - 1, 0, -1):
        parent = _get(data, path[: depth - 1]) if depth > 1 else data
        child = parent.get(path[depth - 1]) if isinstance(parent, dict) else None
        if isinstance(child, dict) and not child:
            del parent[path[depth - 1]]


def _write_rows(data: CommentedMap, table: Table, rows: list[dict[str, str]]) -> None:
    """The table's rows written over its list: rows from the file (``_orig``) are updated in place (their other
    keys and comments kept), removed ones deleted, new ones appended as one-line mappings."""
    *parents, key = table.path
    container = _get(data, tuple(parents)) if parents else data
    if not isinstance(container, CommentedMap):
        return
    rows = [r for r in rows if any(r.get(c.name) for c in table.columns)]  # an empty row is no row
    old = container.get(key)
    old = old if isinstance(old, CommentedSeq) else CommentedSeq()
    origins = [int(r[ORIG]) if r.get(ORIG, "").isdigit() and int(r[ORIG]) < len(old) else None for r in rows]
    kept = [o for o in origins if o is not None]
    in_order = kept == sorted(set(kept)) and origins[: len(kept)] == kept  # kept rows first, in file order
    if not in_order:  # rows were moved about (not something the page does): write them afresh
        old, origins, kept = CommentedSeq(), [None] * len(rows), []
    for index in sorted(set(range(len(old))) - set(kept), reverse=True):
        del old[index]
    names = tuple(c.name for c in table.columns)
    for position, (row, origin) in enumerate(zip(rows, origins)):
        if origin is None:
            item = CommentedMap()
            item.fa.set_flow_style()
            old.append(item)
        item = old[position]
        if not isinstance(item, CommentedMap):
            continue
        for column in table.columns:
            value = row.get(column.name, "")
            if not value:
                item.pop(column.name, None)
            elif not _same(item.get(column.name), value, column.kind):
                _place_key(item, column.name, typed(value, column.kind), names)
    if not old:
        container.pop(key, None)
    elif key not in container:
        _place_key(container, key, old, SUB_ORDER.get(parents[-1], ()) if parents else tuple(ORDER))


def apply_form(base: str, form: Form) -> str:
    """``base`` (the file the form came from; empty for a new campaign) with the form's values written in."""
    data = load(base) if base.strip() else None
    if data is None:
        data = CommentedMap()
    if "kind" not in data:
        _place_key(data, "kind", "campaign", tuple(ORDER))
    if not form.lottery:
        data.pop("lottery", None)
    for item in SCALARS:
        if item.name.startswith("lottery.") and not form.lottery:
            continue
        if item.name in form.values:
            _set(data, item.path, form.values[item.name], item.kind)
    if form.lottery:
        _mapping(data, "lottery", tuple(ORDER))
    for table in TABLES:
        if form.tables is not None and table.name not in form.tables:
            continue
        if form.lottery or not table.name.startswith("lottery."):
            _write_rows(data, table, form.rows.get(table.name, []))
    for item in SCALARS:
        _prune(data, item.path)
    out = io.StringIO()
    round_trip_yaml().dump(data, out)
    return out.getvalue()


# --- diagnostics beside the fields -----------------------------------------------------------------------------


def _index(node: Node, path: tuple, out: dict[tuple[int, int], tuple]) -> None:
    """Every position in the file and the path of what is there; where a container and its first key share a
    position, the container keeps it (an error there is about the row or the section)."""
    out.setdefault((node.pos.line, node.pos.column), path)
    if isinstance(node, Mapping):
        for entry in node.entries:
            here = path + (entry.key,)
            out.setdefault((entry.key_pos.line, entry.key_pos.column), here)
            _index(entry.value, here, out)
    elif isinstance(node, Sequence):
        for index, item in enumerate(node.items):
            _index(item, path + (index,), out)


def target(path: tuple) -> str:
    """The form place for a path in the file: an input's name, a table cell (``objectives.2.metric``) or row
    (``objectives.2``), a section (``section:audience``) or ``yaml`` (a part of the file the form does not show)."""
    if tuple(path[:2]) in HIDDEN:
        return "yaml"
    while path:
        name = ".".join(str(p) for p in path)
        if name in SCALAR_BY_NAME:
            return name
        for table in TABLES:
            n = len(table.path)
            if path[:n] == table.path and len(path) > n and isinstance(path[n], int):
                if len(path) > n + 1 and path[n + 1] in {c.name for c in table.columns}:
                    return f"{table.name}.{path[n]}.{path[n + 1]}"
                return f"{table.name}.{path[n]}"
        if len(path) == 1:
            section = SECTION_OF.get(str(path[0]))
            return f"section:{section}" if section and path[0] != "kind" else "yaml"
        path = path[:-1]
    return "yaml"


def place(text: str, diagnostics: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """Each diagnostic under the form place it concerns (see :func:`target`); a missing key is placed at the
    input it would have been written in, and a problem the file's positions cannot place goes under ``yaml``."""
    node, _ = parse(text, "campaign.yaml")
    index: dict[tuple[int, int], tuple] = {}
    if node is not None:
        _index(node, (), index)
    by_line: dict[int, list[tuple[int, tuple]]] = {}
    for (line, column), path in index.items():
        by_line.setdefault(line, []).append((column, path))
    placed: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        path = index.get((d.line, d.column))
        if path is None:
            before = [c for c in by_line.get(d.line, []) if c[0] <= d.column]
            path = max(before, key=lambda c: c[0])[1] if before else None
        if path is None:
            where = "yaml"
        else:
            if d.code.startswith("plan_missing_key") and isinstance(d.params.get("key"), str):
                path = path + (d.params["key"],)
            where = target(path) if path else "yaml"
        placed.setdefault(where, []).append(d)
    return placed
