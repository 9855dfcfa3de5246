"""Add error codes to the catalogue (``src/weixi/locale/{en,zh_CN}/LC_MESSAGES/errors.po``), both languages at once.

    python scripts/add_errors.py entries.json     # a list of entries
    python scripts/add_errors.py - < entries.json

An entry is ``{"code": "campaign_not_running", "status": 409, "en": "campaign {campaign} is not running",
"zh": "活动 {campaign} 未在进行中", "hint_en": "Start the campaign first.", "hint_zh": "请先启动活动。"}``; an entry
without ``status`` and hints is a param value's name (``{"code": "period.month", "en": "per month", "zh": "每月"}``).
Sentences use ``{named}`` params (``str.format``). A code already in the catalogue with the same sentences is
skipped; with other sentences it is an error (pick another code, or edit the ``.po`` files by hand). Several
people may run this at once: the files are locked while they are written. Then regenerate ``docs/errors.md``
(``python -m weixi.errors_doc``).
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "src" / "weixi" / "locale"
FILES = {
    "en": LOCALE_DIR / "en" / "LC_MESSAGES" / "errors.po",
    "zh": LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "errors.po",
}


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _block(msgid: str, text: str, status: int | None) -> str:
    head = f"#. status: {status}\n" if status is not None else ""
    return f"\n{head}msgid {_quote(msgid)}\nmsgstr {_quote(text)}\n"


def _existing(path: Path) -> dict[str, str]:
    with open(path, "rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


def add(entries: list[dict]) -> list[str]:
    lock = open("/tmp/weixi-errors-po.lock", "w")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        have = {lang: _existing(path) for lang, path in FILES.items()}
        out = {lang: [] for lang in FILES}
        problems, added = [], []
        for e in entries:
            code = e["code"]
            rows = [(code, e["en"], e["zh"], e.get("status"))]
            if e.get("status") is not None:
                if not (e.get("hint_en") and e.get("hint_zh")):
                    problems.append(f"{code}: a code needs hint_en and hint_zh")
                    continue
                rows.append((code + ".hint", e["hint_en"], e["hint_zh"], None))
            for msgid, en, zh, status in rows:
                if msgid in have["en"] or msgid in have["zh"]:
                    if have["en"].get(msgid) != en or have["zh"].get(msgid) != zh:
                        problems.append(f"{msgid}: already in the catalogue with other sentences")
                    continue
                out["en"].append(_block(msgid, en, status))
                out["zh"].append(_block(msgid, zh, None))
                have["en"][msgid], have["zh"][msgid] = en, zh
                added.append(msgid)
        if problems:
            raise SystemExit("nothing written:\n" + "\n".join(problems))
        for lang, path in FILES.items():
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("".join(out[lang]))
        return added
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else "-"
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    data = json.loads(text)
    added = add(data if isinstance(data, list) else [data])
    print(f"added {len(added)} entries")


if __name__ == "__main__":
    main()
