"""Bring the console's catalogue in line with its sources and translate message ids, under a lock.

    python scripts/add_translations.py entries.json     # {"msgid": "中文", ...}
    python scripts/add_translations.py - < entries.json

Each entry maps a message id (the English text in ``_()``, ``gettext()`` or ``N_()``) to its Chinese; a value may
also be ``{"zh": "...", "en": "..."}`` when the English shown differs from the id. Runs what
``python -m weixi.i18n update`` does (new ids added, unused ones dropped, every translation kept), writes these
translations into ``src/weixi/locale/{en,zh_CN}/LC_MESSAGES/weixi.po`` and compiles the ``.mo`` files. Several
people may run this at once: the catalogue is locked while it is rewritten. Prints the ids still untranslated.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from babel.messages.pofile import read_po, write_po  # noqa: E402

from weixi import i18n  # noqa: E402


def add(entries: dict) -> list[str]:
    lock = open("/tmp/weixi-console-po.lock", "w")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        i18n.update()
        for locale in i18n.LOCALES:
            path = i18n.po_path(locale)
            with open(path, "rb") as fh:
                catalog = read_po(fh, locale=locale, domain=i18n.DOMAIN)
            for msgid, value in entries.items():
                text = value if isinstance(value, str) else value.get("zh" if locale != "en" else "en", msgid)
                if locale == "en" and isinstance(value, str):
                    text = msgid
                message = catalog.get(msgid)
                if message is not None and text:
                    message.string = text
            with open(path, "wb") as fh:
                write_po(fh, catalog, width=120, sort_output=True, include_lineno=False)
        i18n.write_compiled()
        return i18n.missing()
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else "-"
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    problems = add(json.loads(text))
    for line in problems:
        print(line)
    print(f"{len(problems)} problem(s) left in the catalogue")


if __name__ == "__main__":
    main()
