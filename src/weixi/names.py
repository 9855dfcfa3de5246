"""Display names of the domain's codes: what a person sees for ``competitor_offer``, ``risk_q1``, ``retention_call``,
``open`` or ``postpaid`` (issue 17 §1).

One registry, a Babel ``.po`` file per locale (``weixi/locale/<locale>/LC_MESSAGES/names.po``), read as text like
the error catalogue (:mod:`weixi.messages`). An entry's msgid is ``<kind>.<code>`` (``churn_reason.price``,
``task_status.open``); its msgstr is the name. Kinds: ``role``, ``churn_reason``, ``churn_feature``,
``value_grade``, ``segment``, ``list_kind``, ``task_kind``, ``task_status``, ``outcome``, ``event_type``,
``ledger_kind``, ``channel``, ``consent``, ``consent_purpose``, ``campaign_status``, ``payment_type``,
``card_role``, ``message_status``, ``referral_status``, ``tier_event``, ``complaint_category``,
``complaint_channel``, ``activity_grade``, ``staff_role`` (the roster's roles; ``role`` is a login's),
``privilege`` (a reward's privilege), ``reward_type`` (a plan reward's type), ``sla_rule`` (the operations plan's service-level rules, which the plan
does not name), ``churn_model`` and ``calibration`` (the churn model's algorithm and calibration method), ``timezone`` (a plan's
timezone in the label of a time: ``Asia/Shanghai`` is 北京时间). ``tests/unit/test_names.py`` fails when a code of the source's code sets has no name in either
language.

Tiers, rewards and rules are named by the plan itself (their ``name`` in the plan file), not here: see
:func:`plan_names`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from weixi.messages import DEFAULT_LOCALE, normalize

DOMAIN = "names"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_lock = threading.Lock()
_cache: dict[str, dict[str, str]] = {}


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def registry(locale: str) -> dict[str, str]:
    """Every name of ``locale`` by ``<kind>.<code>``."""
    locale = normalize(locale)
    with _lock:
        found = _cache.get(locale)
        if found is None:
            with open(po_path(locale), "rb") as fh:
                cat = read_po(fh, locale=locale, domain=DOMAIN)
            found = _cache[locale] = {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy}
        return found


def display(kind: str, code: Any, locale: str = DEFAULT_LOCALE) -> str:
    """The name of ``code`` of ``kind`` in ``locale`` (English when the locale lacks it); an unknown code shows as
    itself, and None as an empty string."""
    if code is None:
        return ""
    key = f"{kind}.{code}"
    for loc in dict.fromkeys((normalize(locale), DEFAULT_LOCALE)):
        name = registry(loc).get(key)
        if name is not None:
            return name
    return str(code)


def names(kind: str, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """Every code of ``kind`` with its name in ``locale``."""
    prefix = kind + "."
    english = {k[len(prefix) :]: v for k, v in registry(DEFAULT_LOCALE).items() if k.startswith(prefix)}
    return {code: display(kind, code, locale) for code in english}


def kinds() -> list[str]:
    """The kinds the registry names."""
    return sorted({k.split(".", 1)[0] for k in registry(DEFAULT_LOCALE)})


def plan_names(plan: Any) -> dict[str, dict[str, str]]:
    """The names a plan gives its own ids: ``{"tier": {id: name}, "reward": {...}, "rule": {...},
    "key_account": {...}}``. Reads the plan's ``tiers``, ``rewards``, ``earning`` rules and key-account levels
    (objects or dicts with ``id`` and ``name``); an id without a name is left out (it shows as itself)."""
    out: dict[str, dict[str, str]] = {"tier": {}, "reward": {}, "rule": {}, "key_account": {}}
    if plan is None:
        return out
    segments = _field(plan, "segments")
    key_accounts = _field(segments, "key_accounts") if segments is not None else None
    sources = (
        ("tier", _field(plan, "tiers")),
        ("reward", _field(plan, "rewards")),
        ("rule", _field(plan, "earning") or _field(plan, "rules")),
        ("key_account", _field(key_accounts, "levels") if key_accounts is not None else None),
    )
    for kind, items in sources:
        for item in _items(items):
            ident, name = _field(item, "id"), _field(item, "name")
            if ident is not None and name:
                out[kind][str(ident)] = str(name)
    return out


def _items(items: Any) -> list:
    if not items:
        return []
    if isinstance(items, dict):
        return [v if _field(v, "id") is not None else {"id": k, "name": _field(v, "name")} for k, v in items.items()]
    return list(items)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)
