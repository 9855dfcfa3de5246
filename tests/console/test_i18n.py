"""The one message catalogue: every string of the templates and console modules is translated in both
zh_CN and en, the committed .mo files match the .po files, and a checkout without .mo files still works."""

from __future__ import annotations

import shutil

from weixi import i18n


def test_every_console_string_is_in_both_catalogues():
    assert i18n.missing() == []
    assert len(i18n.used_messages()) > 200


def test_a_string_missing_from_the_catalogues_is_reported(tmp_path, monkeypatch):
    templates = tmp_path / "console" / "templates"
    templates.mkdir(parents=True)
    (templates / "new.html").write_text('<p>{{ _("Dashboard") }} {{ _("A sentence nobody translated") }}</p>\n')
    (tmp_path / "console" / "extra.py").write_text('from weixi.i18n import N_\nLABEL = N_("Another new label")\n')
    monkeypatch.setattr(i18n, "PACKAGE_DIR", tmp_path)
    problems = i18n.missing()
    for locale in i18n.LOCALES:
        assert any(f"{locale}/LC_MESSAGES/weixi.po: missing: 'A sentence nobody translated'" in p for p in problems)
        assert any(f"{locale}/LC_MESSAGES/weixi.po: missing: 'Another new label'" in p for p in problems)
    assert not any("'Dashboard'" in p and "missing" in p for p in problems)


def test_committed_mo_files_match_the_po_files():
    assert i18n.stale_mo() == [], "run: python -m weixi.i18n compile"


def test_without_mo_files_the_catalogue_is_compiled_from_the_po_files(tmp_path, monkeypatch):
    for locale in i18n.LOCALES:
        target = tmp_path / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy(i18n.po_path(locale), target / "weixi.po")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_cache", {})
    assert i18n.gettext("zh_CN", "Members") == "会员"
    assert i18n.gettext("en", "Members") == "Members"
    assert not any(tmp_path.rglob("*.mo"))


def test_the_locale_comes_from_the_cookie_and_defaults_to_chinese():
    assert i18n.normalize(None) == "zh_CN"
    assert i18n.normalize("en") == i18n.normalize("en-US") == i18n.normalize("en_GB") == "en"
    assert i18n.normalize("zh-CN") == i18n.normalize("fr") == i18n.normalize("<script>") == "zh_CN"
