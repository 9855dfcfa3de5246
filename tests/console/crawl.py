"""The language crawl's machinery: visit every page a login reaches, in Chinese and English, and find on each the
fragments people must not see (issue 18 §2).

* **Visible text** is the HTML with ``<script>``, ``<style>``, ``<textarea>`` and the plan file's own lines
  (``<td class="code">`` of the source view) removed and every tag dropped, attributes with it; block tags break the text, inline tags
  (``<a>``, ``<b>``, ``<span>``...) do not, so a sentence split by a link is still one sentence.
* **On a Chinese page**: a snake_case token (``high_risk``), a run of two or more English words (``Not scored``,
  ``postpaid · primary``) outside :data:`ALLOWED_WORDS`, a ``weixi …`` command, or a one-word code of the
  display-name registry standing alone in a cell or label (``earn``, ``open``).
* **On an English page**: Chinese text that the catalogues (console, names, errors) translate, which means a
  label that was not translated; member names, cities and campaign names are data and stay as they are.

Pages are found by following links: the login's menu, then every link and htmx URL of those pages one level
further, one page per *shape* (``/members/M0000000002`` and ``/members/M0000000003`` are the same shape)."""

from __future__ import annotations

import html as htmlmod
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from babel.messages.pofile import read_po

from weixi import i18n, names

# Genuine names and units that stay in Latin letters on a Chinese page; each with the reason.
ALLOWED_WORDS = {
    "YAML",  # the plan file's format, named as such in Chinese documents
    "CSV",  # a file format
    "XLSX",  # a file format
    "AUC",  # the model metric's standard name
    "ID",  # 会员ID, the usual Chinese spelling
    "KB",
    "MB",
    "GB",  # data units
    "Weixi",  # the product's name
    "SLA",  # 服务水平 is written SLA in Chinese operations documents
    "SMS",
    "PDF",
    "QR",
    "VIP",
    "TOP",
    "Top",
    "PSI",  # the drift metric's standard name
    "ROC",
    "PR",  # the chart names
}
SNAKE = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9](?![A-Za-z0-9_])")
WORD_RUN = re.compile(r"[A-Za-z]+(?:[ \t/·:,()\-]+[A-Za-z]+)+")
CLI = re.compile(r"\bweixi\s+[a-z]")
# A run of Chinese with the digits around it: "员工15" (a name from data) is not the catalogue's "员工".
CJK = re.compile(r"[0-9]*[\u4e00-\u9fff](?:[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef0-9]*[\u4e00-\u9fff])?[0-9]*")
HIDDEN = re.compile(
    r"<(script|style|textarea)\b.*?</\1\s*>|<td\b[^>]*class=\"code\"[^>]*>.*?</td>|<!--.*?-->",
    re.S | re.I,
)
INLINE = re.compile(r"</?(a|b|i|em|strong|span|small|code|abbr|label|time|kbd|sub|sup|mark|u)\b[^>]*>", re.I)
TAG = re.compile(r"<[^>]+>")
LINK = re.compile(r'(?:href|hx-get|data-src|data-url)="(/[^"#]*)"')
SKIP = re.compile(r"^/(logout|lang/|static/|api/|docs|openapi)|\.(csv|xlsx|json|png|svg|yaml)(\?|$)|/(export|download)")


def visible_text(page: str) -> str:
    """The text a reader sees, block boundaries as newlines."""
    body = HIDDEN.sub("\n", page)
    body = INLINE.sub("", body)
    body = TAG.sub("\n", body)
    return htmlmod.unescape(body)


# Ids are not words: M0000000002, S000003, T1, a referral code (a token with a digit); nor is a file's own name
# (telecom-points.yaml), which its author chose.
ID_TOKEN = re.compile(r"[A-Za-z0-9-]*[0-9][A-Za-z0-9-]*|[\w.-]+\.(?:yaml|yml|csv|xlsx|parquet|json)\b")


_codes: set[str] | None = None


def registry_codes() -> set[str]:
    """The one-word codes the display-name registry names (``earn``, ``open``, ``postpaid``): shown alone on a
    Chinese page, such a word is a code that missed its name."""
    global _codes
    if _codes is None:
        # roles are left out: the demo's usernames (admin, analyst) are their roles' codes, and a username is data
        _codes = {k.split(".", 1)[1] for k in names.registry("en") if k.split(".", 1)[0] not in ("role", "staff_role")}
        _codes = {c for c in _codes if re.fullmatch(r"[a-z]{3,}", c)}
    return _codes


def zh_findings(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        if line.strip() in registry_codes():
            found.append(f"code: {line.strip()}")
        line = ID_TOKEN.sub(" ", line)
        found += [f"code: {m}" for m in SNAKE.findall(line)]
        for run in WORD_RUN.findall(line):
            words = [w for w in re.findall(r"[A-Za-z]+", run) if w not in ALLOWED_WORDS]
            if len(words) >= 2 and not SNAKE.search(run):
                found.append(f"english: {run}")
        found += [f"cli: {line.strip()[:80]}" for _ in CLI.findall(line)]
    return found


_catalogue_zh: set[str] | None = None


def catalogue_chinese() -> set[str]:
    """Every Chinese run of the zh_CN catalogues' translations (console, names, errors)."""
    global _catalogue_zh
    if _catalogue_zh is None:
        runs: set[str] = set()
        folder = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES"
        for name in ("weixi.po", "names.po", "errors.po"):
            with open(folder / name, "rb") as fh:
                for m in read_po(fh, locale="zh_CN"):
                    strings = m.string if isinstance(m.string, tuple) else (m.string,)
                    for s in strings:
                        runs.update(r for r in CJK.findall(re.sub(r"%\(\w+\)[sd]|\{\w+\}", " ", s or "")))
        _catalogue_zh = runs
    return _catalogue_zh


def en_findings(text: str, data_words: set[str]) -> list[str]:
    known = catalogue_chinese()
    return [f"chinese: {r}" for r in CJK.findall(text) if r in known and r not in data_words]


def shape(path: str) -> str:
    """``/members/M0000000002?tab=points`` -> ``/members/*?tab``: one visit per kind of page."""
    parts = urlsplit(path)
    segments = [s for s in parts.path.split("/") if s]
    head, rest = segments[:1], segments[1:]
    generic = [s if s.isalpha() and s.islower() and len(s) < 16 else "*" for s in rest]
    keys = ",".join(sorted(k for k, _ in parse_qsl(parts.query, keep_blank_values=True)))
    return "/" + "/".join(head + generic) + (f"?{keys}" if keys else "")


@dataclass
class Report:
    pages: dict[str, list[str]] = field(default_factory=dict)  # "role zh_CN <shape>" -> fragments
    urls: dict[str, str] = field(default_factory=dict)  # "role zh_CN <shape>" -> the URL visited
    errors: dict[str, int] = field(default_factory=dict)  # "role /path" -> HTTP status >= 500

    def bad(self) -> dict[str, list[str]]:
        return {k: v for k, v in self.pages.items() if v}


def links(page: str) -> list[str]:
    found = []
    for raw in LINK.findall(page):
        url = htmlmod.unescape(raw)
        if not SKIP.search(url):
            found.append(url)
    return found


def nav_links(page: str) -> list[str]:
    block = re.search(r"<nav\b[^>]*>.*?</nav>", page, re.S)
    return links(block.group(0)) if block else []


def crawl(client, role: str, report: Report, data_words: set[str], extra: tuple[str, ...] = (), dump=None) -> None:
    """Visit the login's pages in Chinese then English (same pages, same order); ``dump``: a folder to write each
    page's visible text to (for looking at findings)."""

    def keep(lang: str, url: str, text: str) -> str:
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            (dump / f"{role} {lang} {url}".replace("/", "_")).write_text(text, encoding="utf-8")
        return text

    client.get("/lang/zh_CN?next=%2F")
    home = client.get("/", follow_redirects=True)
    first = nav_links(home.text) or [urlsplit(str(home.url)).path]
    seen: dict[str, str] = {}
    frontier = list(dict.fromkeys(first + list(extra)))
    pages: dict[str, str] = {}
    for depth in range(2):
        nxt: list[str] = []
        for url in frontier:
            s = shape(url)
            if s in seen:
                continue
            seen[s] = url
            r = client.get(url)
            if r.status_code >= 500:
                report.errors[f"{role} {url}"] = r.status_code
            if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
                continue
            pages[url] = r.text
            if depth == 0:
                nxt += links(r.text)
        frontier = nxt
    for url, page in pages.items():
        key = f"{role} zh_CN {shape(url)}"
        report.urls[key] = url
        report.pages[key] = sorted(set(zh_findings(keep("zh_CN", url, visible_text(page)))))
    client.get("/lang/en?next=%2F")
    for url in pages:
        r = client.get(url)
        if r.status_code == 200:
            key = f"{role} en {shape(url)}"
            report.urls[key] = url
            report.pages[key] = sorted(set(en_findings(keep("en", url, visible_text(r.text)), data_words)))
    client.get("/lang/zh_CN?next=%2F")
