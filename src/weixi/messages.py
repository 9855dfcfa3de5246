"""The error catalogue: one sentence per code, in English and Chinese, and :func:`render`.

The catalogue is a Babel ``.po`` file per locale, ``weixi/locale/<locale>/LC_MESSAGES/errors.po``, read as text (no
compiled ``.mo``: it is small). Its entries are:

- ``<code>``: the sentence of an error code, with ``{named}`` params (``{balance}``, ``{reward}``); in the English
  file an extracted comment ``#. status: 409`` gives the HTTP status of the code's error class, for
  ``docs/errors.md``;
- ``<code>.hint``: what the reader can do about it;
- ``<code>.member``: the sentence addressed to the member on their own page (second person), when it differs;
- ``<param>.<value>``: how a param value is shown (``period.month``: "per month" / "每月").

A param that is a list is shown joined (``gold, silver`` / ``gold、silver``). ``docs/errors.md`` is generated from
this catalogue (``python -m weixi.errors_doc``), and a test fails when a code raised in ``src/`` lacks either
sentence (``tests/unit/test_error_catalogue.py``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from weixi.errors import Problem, WeixiError

DOMAIN = "errors"
LOCALES = ("en", "zh_CN")
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_JOIN = {"en": ", ", "zh_CN": "、"}
_STATUS = re.compile(r"^status:\s*(\d{3})$")

_lock = threading.Lock()
_cache: dict[str, dict[str, "Entry"]] = {}


@dataclass(frozen=True)
class Entry:
    msgid: str
    text: str
    comments: tuple[str, ...] = ()

    @property
    def status(self) -> int | None:
        found = next((m for m in (_STATUS.match(c.strip()) for c in self.comments) if m), None)
        return int(found.group(1)) if found else None


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue(locale: str) -> dict[str, Entry]:
    """Every entry of ``locale``'s catalogue by msgid (translated entries only)."""
    with _lock:
        found = _cache.get(locale)
        if found is None:
            with open(po_path(locale), "rb") as fh:
                cat = read_po(fh, locale=locale, domain=DOMAIN)
            found = _cache[locale] = {
                m.id: Entry(m.id, m.string, tuple(m.auto_comments)) for m in cat if m.id and m.string and not m.fuzzy
            }
        return found


def codes() -> list[str]:
    """Every error code of the catalogue (its English entries that are neither hints nor value names)."""
    return [k for k in catalogue("en") if "." not in k]


def normalize(value: str | None) -> str:
    """A catalogue locale for ``value`` ("en", "zh-CN", "zh_CN", "zh"...), else English."""
    text = (value or "").strip().replace("-", "_")
    if text in LOCALES:
        return text
    return "zh_CN" if text.split("_")[0].lower() == "zh" else DEFAULT_LOCALE


def accept_language(header: str | None) -> str:
    """The catalogue locale an ``Accept-Language`` header prefers (highest ``q`` first), else English."""
    ranked = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        q = 1.0
        if rest.strip().startswith("q="):
            try:
                q = float(rest.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().split("-")[0].lower()
        if lang in ("en", "zh") and q > 0:
            ranked.append((-q, i, lang))
    return normalize(min(ranked)[2]) if ranked else DEFAULT_LOCALE


def _show(key: str, value: Any, locale: str, entries: dict[str, Entry]) -> Any:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return _JOIN.get(locale, ", ").join(str(_show(key, v, locale, entries)) for v in value)
    named = entries.get(f"{key}.{value}")
    return named.text if named is not None else value


def render(problem: Problem | WeixiError, locale: str = DEFAULT_LOCALE, audience: str | None = None) -> str:
    """The sentence of ``problem`` in ``locale`` (English when the locale lacks it). ``audience="member"``: the
    sentence addressed to the member on their own page (``<code>.member``, or ``<code>.member.<period>``), when the
    catalogue has one. A code in neither catalogue shows as ``code(params)``: a test keeps that from happening to a
    code raised in ``src/``."""
    locale = normalize(locale)
    keys = [problem.code]
    if audience:
        keys[:0] = [f"{problem.code}.{audience}.{problem.params.get('period')}", f"{problem.code}.{audience}"]
    for loc in dict.fromkeys((locale, DEFAULT_LOCALE)):
        entries = catalogue(loc)
        entry = next((entries[k] for k in keys if k in entries), None)
        if entry is None:
            continue
        shown = {k: _show(k, v, loc, entries) for k, v in problem.params.items()}
        try:
            return entry.text.format(**shown)
        except (KeyError, IndexError, ValueError):
            break
    args = ", ".join(f"{k}={v!r}" for k, v in problem.params.items())
    return f"{problem.code}({args})"


def hint(code: str, locale: str = DEFAULT_LOCALE) -> str | None:
    """What the reader can do about ``code``, if the catalogue says."""
    entry = catalogue(normalize(locale)).get(code + ".hint") or catalogue(DEFAULT_LOCALE).get(code + ".hint")
    return entry.text if entry is not None else None


def envelope(error: Problem | WeixiError, locale: str = DEFAULT_LOCALE, details: list | None = None) -> dict:
    """The one error shape of the API and of ``--json`` in the CLI:
    ``{"error": {"code", "message", "params", "where", "details"}}``."""
    where = error.where.to_json() if error.where is not None else None
    return {
        "error": {
            "code": error.code,
            "message": render(error, locale),
            "params": dict(error.params),
            "where": where,
            "details": list(details or []),
        }
    }
