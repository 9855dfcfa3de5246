"""Settings are declared once (weixi.settings) and documented (docs/settings.md, generated from the declarations)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from weixi import settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "weixi"
NAME = re.compile(r"\bWEIXI_[A-Z0-9_]+\b")
# reading the environment around weixi.settings: os.environ.get / os.environ[...] / os.getenv with a WEIXI_ name or a
# constant; writes (``os.environ["X"] = …``, ``os.environ.update``: weixi serve hands settings to its workers) pass
READ = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=[^=])")


def _sources():
    return [p for p in sorted(SRC.rglob("*.py")) if p != SRC / "settings.py"]


def test_every_weixi_variable_named_in_src_is_declared():
    named = {(p.relative_to(ROOT).as_posix(), n) for p in _sources() for n in NAME.findall(p.read_text("utf-8"))}
    assert named, "the scan found no WEIXI_ names at all"
    assert sorted((f, n) for f, n in named if n not in settings.BY_NAME) == []


def test_every_weixi_variable_of_the_tests_and_benchmarks_is_declared():
    declared = set(settings.BY_NAME) | {s.name for s in settings.DEVELOPMENT}
    files = [
        ROOT / "Makefile",
        *sorted((ROOT / "tests").rglob("*.py")),
        *sorted((ROOT / "benchmarks").rglob("*.py")),
        *sorted((ROOT / "scripts").glob("*.sh")),
    ]
    named = {
        (p.relative_to(ROOT).as_posix(), n) for p in files if p.exists() for n in NAME.findall(p.read_text("utf-8"))
    }
    assert sorted((f, n) for f, n in named if n not in declared) == []


def test_src_reads_the_environment_only_through_settings():
    reads = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in _sources()
        for i, line in enumerate(p.read_text("utf-8").splitlines(), 1)
        if READ.search(line)
    ]
    assert reads == []


def test_every_setting_is_documented_and_the_page_is_current():
    page = (ROOT / "docs" / "settings.md").read_text("utf-8")
    assert page == settings.render_markdown(), "docs/settings.md is stale: python -m weixi.settings > docs/settings.md"
    for s in settings.SETTINGS + settings.DEVELOPMENT:
        assert s.name.startswith("WEIXI_") and len(s.help) >= 20, s
        assert f"`{s.name}`" in page


def test_declarations_are_unique_and_defaults_have_their_type():
    names = [s.name for s in settings.SETTINGS + settings.DEVELOPMENT]
    assert len(set(names)) == len(names)
    for s in settings.SETTINGS + settings.DEVELOPMENT:
        assert s.default is None or isinstance(s.default, s.type), s
        assert not s.choices or s.default in s.choices, s


def test_values_are_read_when_asked_and_parsed(monkeypatch):
    monkeypatch.delenv("WEIXI_SCORE_THREADS", raising=False)
    assert settings.SCORE_THREADS.value() == 1
    monkeypatch.setenv("WEIXI_SCORE_THREADS", "4")
    assert settings.SCORE_THREADS.value() == 4
    monkeypatch.setenv("WEIXI_SECURE_COOKIES", "0")
    assert settings.SECURE_COOKIES.value() is False
    monkeypatch.setenv("WEIXI_SECURE_COOKIES", "")
    assert settings.SECURE_COOKIES.value() is True and settings.SECURE_COOKIES.raw() is None
    monkeypatch.setenv("WEIXI_SCORE_THREADS", "four")
    with pytest.raises(ValueError, match="WEIXI_SCORE_THREADS"):
        settings.SCORE_THREADS.value()
    monkeypatch.setenv("WEIXI_WRITER", "fiber")
    with pytest.raises(ValueError, match="WEIXI_WRITER"):
        settings.WRITER.value()


def test_the_default_timezone_is_named_once():
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in _sources()
        for i, line in enumerate(p.read_text("utf-8").splitlines(), 1)
        if re.search(r"""["']Asia/Shanghai["']""", line)
    ]
    assert hits == [], "use weixi.settings.DEFAULT_TIMEZONE (or the plan's timezone)"
