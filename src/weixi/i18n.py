"""One message catalogue for the console and the member page: Chinese (zh_CN) by default, English on a switch.

The catalogues are gettext files under ``weixi/locale/<locale>/LC_MESSAGES/weixi.po``; message ids are the
English source text, and *both* catalogues translate every id (the English one mostly to itself), so a test can
tell a forgotten string from a deliberate one (``tests/unit/i18n/test_catalogue.py``).

The compiled ``weixi.mo`` files are committed beside the ``.po`` files. When a ``.mo`` is missing or older than
its ``.po`` (a checkout where someone edited the ``.po``), the catalogue is compiled from the ``.po`` in memory,
so nothing needs a network or a build step. ``python -m weixi.i18n update`` adds new ids from the
templates and console modules to both ``.po`` files (and drops unused ones), ``python -m weixi.i18n check`` lists
ids missing or untranslated in either catalogue, ``python -m weixi.i18n compile`` rewrites the ``.mo`` files.

The locale of a request is the ``weixi_lang`` cookie when it names a known locale, else ``zh_CN``.
"""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from weixi import __version__

DOMAIN = "weixi"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
COOKIE = "weixi_lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# What the language switch shows for each locale (the name of the language in itself).
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
# The HTML lang attribute of each locale.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

_lock = threading.Lock()
_cache: dict[str, Translations] = {}


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it here (translated where it is shown)."""
    return message


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def normalize(value: str | None) -> str:
    """A known locale for ``value`` ("en", "en-US", "zh-CN", "zh_CN"...), else the default."""
    if not value:
        return DEFAULT_LOCALE
    text = value.strip().replace("-", "_")
    if text in LOCALES:
        return text
    lang = text.split("_")[0].lower()
    if lang == "en":
        return "en"
    return DEFAULT_LOCALE


def read_catalog(locale: str):
    with open(po_path(locale), "rb") as fh:
        return read_po(fh, locale=locale, domain=DOMAIN)


def compiled(locale: str) -> bytes:
    """The ``.mo`` bytes of ``locale``'s ``.po`` file."""
    buf = io.BytesIO()
    write_mo(buf, read_catalog(locale), use_fuzzy=False)
    return buf.getvalue()


def _load(locale: str) -> Translations:
    po, mo = po_path(locale), mo_path(locale)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with open(mo, "rb") as fh:
            return Translations(fh, domain=DOMAIN)
    return Translations(io.BytesIO(compiled(locale)), domain=DOMAIN)


def translations(locale: str) -> Translations:
    """The translations of ``locale`` (loaded once per process)."""
    locale = normalize(locale)
    with _lock:
        found = _cache.get(locale)
        if found is None:
            found = _cache[locale] = _load(locale)
        return found


def locale_of(request) -> str:
    """The locale a request asked for: the ``weixi_lang`` cookie, else Chinese."""
    return normalize(request.cookies.get(COOKIE))


def gettext(locale: str, message: str) -> str:
    return translations(locale).ugettext(message)


def write_compiled() -> list[Path]:
    """Compile every ``.po`` to its ``.mo`` (what ``python -m weixi.i18n compile`` does)."""
    written = []
    for locale in LOCALES:
        data = compiled(locale)
        mo_path(locale).write_bytes(data)
        written.append(mo_path(locale))
    with _lock:
        _cache.clear()
    return written


def stale_mo() -> list[str]:
    """Locales whose committed ``.mo`` does not hold what their ``.po`` says."""
    out = []
    for locale in LOCALES:
        if not mo_path(locale).exists():
            out.append(locale)
            continue
        with open(mo_path(locale), "rb") as fh:
            have = {m.id: m.string for m in read_mo(fh) if m.id}
        want = {m.id: m.string for m in read_catalog(locale) if m.id and m.string and not m.fuzzy}
        if have != want:
            out.append(locale)
    return out


# Where user-facing strings live: the console's templates and Python modules (``_()``, ``gettext()``, ``N_()``).
SOURCES = [
    ("console/templates/**.html", "jinja2.ext:babel_extract"),
    ("console/**.py", "python"),
]
PACKAGE_DIR = Path(__file__).resolve().parent


def used_messages() -> dict[str, list[str]]:
    """Every message id the templates and console modules use, with where (``file:line``)."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    options = {"console/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PACKAGE_DIR, SOURCES, options, keywords={"_": None, "gettext": None, "N_": None}
    ):
        if message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def missing() -> list[str]:
    """Problems of the catalogues: a used id one of them lacks (or leaves empty or fuzzy), an id no one uses."""
    used = used_messages()
    problems = []
    for locale in LOCALES:
        catalog = read_catalog(locale)
        have = {m.id: m for m in catalog if m.id}
        for msgid, where in sorted(used.items()):
            m = have.get(msgid)
            if m is None or not m.string or m.fuzzy:
                state = "missing" if m is None else "fuzzy" if m.fuzzy else "untranslated"
                problems.append(f"{po_path(locale)}: {state}: {msgid!r} (used at {where[0]})")
        for msgid in sorted(set(have) - set(used)):
            problems.append(f"{po_path(locale)}: unused: {msgid!r} (delete it or use it)")
    return problems


def update() -> dict[str, int]:
    """Bring both ``.po`` files in line with the sources: add new ids untranslated (``check`` then lists them for
    a translator), drop ids no source uses, keep every existing translation; then compile. Returns counts."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    used = used_messages()
    counts = {}
    for locale in LOCALES:
        old = {m.id: m.string for m in read_catalog(locale) if m.id} if po_path(locale).exists() else {}
        catalog = Catalog(
            locale=locale,
            domain=DOMAIN,
            project="Weixi",
            copyright_holder="The Weixi authors",
            msgid_bugs_address="the Weixi issue tracker",
            last_translator="The Weixi authors",
            language_team=locale,
            fuzzy=False,
            version=__version__,
        )
        for msgid in sorted(used):
            catalog.add(msgid, old.get(msgid, ""), locations=sorted({(w.rsplit(":", 1)[0], None) for w in used[msgid]}))
        po_path(locale).parent.mkdir(parents=True, exist_ok=True)
        with open(po_path(locale), "wb") as fh:
            write_po(fh, catalog, width=120, sort_output=True, include_lineno=False)
        counts[locale] = sum(1 for m in used if not old.get(m))
    write_compiled()
    return counts


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        for locale, new in update().items():
            print(f"{po_path(locale)}: {new} id(s) to translate")
        return 0
    if argv[:1] == ["compile"]:
        for path in write_compiled():
            print(f"wrote {path}")
        return 0
    if argv[:1] == ["check"]:
        problems = missing()
        for line in problems:
            print(line)
        stale = stale_mo()
        for locale in stale:
            print(f"{mo_path(locale)}: out of date with its .po: run python -m weixi.i18n compile")
        return 1 if problems or stale else 0
    print("usage: python -m weixi.i18n update|compile|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
