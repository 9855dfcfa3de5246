"""What the user wrote, checked for shape and types: the *spec* side of the loader.

A schema is data (:class:`Shape`, :class:`Tagged`, :class:`ListOf`, :class:`Either` and
scalar readers from :mod:`weixi.plans.values`); :func:`read` walks a YAML node tree
against it and returns a :class:`Spec` of converted values that still carry their source
positions. Unknown keys, wrong types and missing keys are reported here; meaning across
keys (references, duplicates, window order) is left to :mod:`weixi.plans.resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Union

from weixi.plans.diagnostics import Pos, Report
from weixi.plans.values import BadValue, got, noun, suggested
from weixi.plans.yaml_source import Mapping, Node, Scalar, Sequence

Reader = Callable[[object], Any]


@dataclass(frozen=True)
class Field:
    kind: "Kind"
    required: bool = False


@dataclass(frozen=True)
class Shape:
    """A mapping with a fixed set of keys; ``one_of``: exactly one of these keys must appear."""

    what: str
    fields: dict[str, Field]
    one_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tagged:
    """A mapping whose allowed keys depend on its ``tag`` key (``type``)."""

    what: str
    tag: str
    common: dict[str, Field]
    variants: dict[str, dict[str, Field]]  # variant fields override common ones


@dataclass(frozen=True)
class ListOf:
    item: "Kind"


@dataclass(frozen=True)
class Either:
    """A scalar (read by ``scalar``) or a mapping (read by ``shape``)."""

    scalar: Reader
    shape: Shape


Kind = Union[Reader, Shape, Tagged, ListOf, Either]


@dataclass(frozen=True)
class Val:
    value: Any  # converted scalar, Spec, or tuple[Val, ...]
    pos: Pos  # where the value is
    key_pos: Pos | None = None  # where its key is, for mapping values


@dataclass(frozen=True)
class Spec:
    """One checked mapping: key -> Val for every key that was present and valid."""

    pos: Pos
    fields: dict[str, Val] = field(default_factory=dict)
    present: frozenset[str] = frozenset()  # keys written in the file, valid or not

    def get(self, key: str, default: Any = None) -> Any:
        val = self.fields.get(key)
        return default if val is None else val.value

    def at(self, key: str) -> Pos:
        """Position of ``key``'s value, or of the mapping when the key is absent."""
        val = self.fields.get(key)
        return val.pos if val is not None else self.pos

    def key_at(self, key: str) -> Pos:
        val = self.fields.get(key)
        return val.key_pos or val.pos if val is not None else self.pos

    def items(self, key: str) -> tuple[Val, ...]:
        return self.get(key, ())


def read(node: Node, kind: Kind, report: Report, key: str = "") -> Val | None:
    """Convert ``node`` by ``kind``; ``None`` (and diagnostics in ``report``) when it does not fit.

    ``key`` names the value in messages (``"cost: must be a positive whole number, got 0"``).
    """
    if isinstance(kind, Either):
        return read(node, kind.shape if isinstance(node, Mapping) else kind.scalar, report, key)
    if isinstance(kind, ListOf):
        return _read_list(node, kind, report, key)
    if isinstance(kind, (Shape, Tagged)):
        if not isinstance(node, Mapping):
            code = "plan_expected_mapping" if key else "plan_root_expected_mapping"
            report.error(node.pos, code, **({"key": key} if key else {}), noun=noun(kind.what), **got(_raw(node)))
            return None
        spec = _read_tagged(node, kind, report) if isinstance(kind, Tagged) else _read_shape(node, kind, report)
        return Val(spec, node.pos)
    try:
        return Val(kind(_raw(node)), node.pos)
    except BadValue as exc:
        bad_value(report, node.pos, key, exc)
        return None


def bad_value(report: Report, pos: Pos, key: str, exc: BadValue) -> None:
    """Report a value that does not fit ``key`` (its sentence starts with the key)."""
    report.error(pos, exc.code, key=key, **exc.params)


def _raw(node: Node) -> object:
    return node.value if isinstance(node, Scalar) else node


def _read_list(node: Node, kind: ListOf, report: Report, key: str) -> Val | None:
    if isinstance(node, Scalar) and node.value is None:
        return Val((), node.pos)
    if not isinstance(node, Sequence):
        if isinstance(node, Scalar) and isinstance(node.value, str):
            report.error(node.pos, "plan_expected_list_text", key=key, value=str(node.value))
        else:
            report.error(node.pos, "plan_expected_type", key=key, expected="list", **got(_raw(node)))
        return None
    items = tuple(v for v in (read(item, kind.item, report, key) for item in node.items) if v is not None)
    return Val(items, node.pos)


def _read_shape(node: Mapping, shape: Shape, report: Report) -> Spec:
    spec = _read_fields(node, shape.what, shape.fields, {}, report)
    written = [k for k in shape.one_of if k in spec.present]
    if shape.one_of and len(written) != 1:
        options = list(shape.one_of)
        if written:
            report.error(node.pos, "plan_only_one_of", noun=noun(shape.what), options=options, found=written)
        else:
            report.error(node.pos, "plan_needs_one_of", noun=noun(shape.what), options=options)
    return spec


def _read_tagged(node: Mapping, tagged: Tagged, report: Report) -> Spec:
    variant = None
    entry = node.get(tagged.tag)
    if entry is not None:
        names = tuple(tagged.variants)
        raw = _raw(entry.value)
        if isinstance(raw, str) and raw in names:
            variant = str(raw)
        elif not isinstance(raw, str):
            report.error(entry.value.pos, "plan_expected_one_of", key=tagged.tag, options=list(names), **got(raw))
        else:
            code, hint = suggested("plan_unknown_variant", raw, names)
            report.error(
                entry.value.pos,
                code,
                key=tagged.tag,
                value=str(raw),
                noun=noun(tagged.what),
                options=list(names),
                **hint,
            )
    if variant is None:  # accept every variant's keys so only the tag itself is reported
        fields = dict(tagged.common)
        for extra in tagged.variants.values():
            fields.update({k: Field(f.kind) for k, f in extra.items() if k not in fields})
        fields[tagged.tag] = Field(_reported, tagged.common[tagged.tag].required)
        return _read_fields(node, tagged.what, fields, {}, report)
    fields = {**tagged.common, **tagged.variants[variant]}
    others = {k: [n for n, v in tagged.variants.items() if k in v] for k in _all_keys(tagged)}
    return _read_fields(node, tagged.what, fields, others, report, variant=variant)


def _reported(raw: object) -> None:
    """Reader for a tag that was already reported as wrong: keep nothing."""
    return None


def _all_keys(tagged: Tagged) -> set[str]:
    return {k for extra in tagged.variants.values() for k in extra}


def _read_fields(
    node: Mapping,
    what: str,
    fields: dict[str, Field],
    others: dict[str, list[str]],
    report: Report,
    variant: str | None = None,
) -> Spec:
    values: dict[str, Val] = {}
    present: set[str] = set()
    label, of = _label(node, what)
    for entry in node.entries:
        key = entry.key
        if not isinstance(key, str):
            report.error(entry.key_pos, "plan_key_not_text" + of, **label, **got(key))
            continue
        present.add(key)
        spec_field = fields.get(key)
        if spec_field is None:
            if others.get(key):
                report.error(
                    entry.key_pos,
                    "plan_key_not_for_variant",
                    key=key,
                    variant=variant,
                    noun=noun(what),
                    others=others[key],
                )
            else:
                code, hint = suggested("plan_unknown_key" + of, key, fields)
                report.error(entry.key_pos, code, key=key, **label, **hint)
            continue
        val = read(entry.value, spec_field.kind, report, key)
        if val is not None:
            values[key] = Val(val.value, val.pos, entry.key_pos)
    for key, spec_field in fields.items():
        if spec_field.required and key not in present:
            extra = {"variant": variant} if variant else {}
            report.error(node.pos, "plan_missing_key" + of + ("_variant" if variant else ""), key=key, **label, **extra)
    return Spec(node.pos, values, frozenset(present))


def _label(node: Mapping, what: str) -> tuple[dict, str]:
    """The params naming a mapping (its section, and its id when it has one) and the code suffix for them."""
    entry = node.get("id")
    if entry is not None and isinstance(entry.value, Scalar) and isinstance(entry.value.value, str):
        return {"noun": noun(what), "id": str(entry.value.value)}, "_of"
    return {"noun": noun(what)}, ""
