"""Message templates: Jinja2 text with member fields, checked before anything is sent.

A template names its variables as ``{{ member.name }}``, ``{{ occasion.name }}``, ``{{ points.expiring }}``...
:func:`check` walks the template's syntax tree and refuses any variable or field not in :data:`VARIABLES`
(a typo would otherwise send "尊敬的 ," to a million members); rendering uses ``StrictUndefined`` as a second
guard, so a value missing at run time is an error too, never an empty string. Templates render as plain text
(SMS, e-mail text part): no HTML escaping.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from jinja2 import nodes

from weixi.errors import Invalid

# variable -> its fields (what a template may name) with a short description for docs/messaging.md
VARIABLES: dict[str, dict[str, str]] = {
    "member": {
        "member_id": "member id",
        "name": "name (姓名)",
        "surname": "family name (first character)",
        "title": "先生 / 女士 from the gender, empty when unknown",
        "gender": "gender code (M/F)",
        "birthday": "solar birthday (date)",
        "lunar_birthday": "lunar birthday as written (农历三月初五)",
        "city": "city",
        "district": "district",
        "plan_name": "current plan",
        "tier": "tier id",
        "tier_name": "tier name",
        "star_level": "star level 1-7",
        "points_balance": "points balance",
        "manager_id": "customer manager id",
        "manager_name": "customer manager name",
    },
    "occasion": {
        "kind": "birthday / lunar_birthday / holiday / solar_term / points_expiring / task",
        "name": "occasion name (春节, 立冬...)",
        "date": "occasion date",
    },
    "points": {"expiring": "points expiring soon", "expires_on": "first expiry date"},
    "offer": {"id": "recommended offer id", "name": "offer name"},
    "task": {
        "task_id": "task id",
        "reason": "why the member is on the list",
        "due_on": "due date",
        "from_tier": "tier before the event",
        "to_tier": "tier after the event",
    },
}


class TemplateError(Invalid, ValueError):
    """A template that cannot be used: ``code`` says why, the params name the ``template`` and, when known, the
    ``line`` inside it (1-based)."""

    def __init__(self, code: str, /, template: str, line: int | None = None, **params):
        super().__init__(code, template=template, **({"line": line} if line is not None else {}), **params)
        self.template_id, self.line = template, line


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Template:
    id: str
    channel: str
    body: str
    subject: str | None = None


def _names(tree: nodes.Node, template_id: str) -> None:
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in VARIABLES:
            fields = VARIABLES[node.node.name]
            if node.attr not in fields:
                raise TemplateError(
                    "template_unknown_field",
                    template=template_id,
                    line=node.lineno,
                    field=f"{node.node.name}.{node.attr}",
                    known=sorted(fields),
                )
    for node in tree.find_all(nodes.Getitem):
        if isinstance(node.node, nodes.Name) and node.node.name in VARIABLES and isinstance(node.arg, nodes.Const):
            if node.arg.value not in VARIABLES[node.node.name]:
                raise TemplateError(
                    "template_unknown_item",
                    template=template_id,
                    line=node.lineno,
                    field=f"{node.node.name}.{node.arg.value}",
                )
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in VARIABLES and node.name not in assigned:
            raise TemplateError(
                "template_unknown_variable",
                template=template_id,
                line=node.lineno,
                name=node.name,
                known=list(VARIABLES),
            )


def check(template_id: str, text: str) -> jinja2.Template:
    """Parse and check ``text``; a compiled template, or :class:`TemplateError` saying where."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            "template_syntax_error", template=template_id, line=exc.lineno, detail=exc.message
        ) from None
    _names(tree, template_id)
    return _ENV.from_string(text)


class Compiled:
    """A checked template ready to render many times."""

    def __init__(self, template: Template):
        self.template = template
        self._body = check(template.id, template.body)
        self._subject = check(template.id, template.subject) if template.subject else None

    def render(self, context: dict) -> tuple[str | None, str]:
        """(subject, body); :class:`TemplateError` when a value the template names is missing."""
        try:
            body = self._body.render(**context).strip()
            subject = self._subject.render(**context).strip() if self._subject else None
        except jinja2.UndefinedError as exc:
            raise TemplateError("template_value_missing", template=self.template.id, detail=exc.message) from None
        return subject, body
