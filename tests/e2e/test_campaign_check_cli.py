"""`weixi campaign check FILE`: the checker refuses a campaign whose window is already over (issue 20 §10: "A
campaign whose window is already past is refused by the checker, not at approval"), located at `window.to`, and
passes the same file checked as of a day inside its window."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.e2e.cli_helpers import weixi, weixi_json

FILE = ROOT / "plans" / "examples" / "anniversary-draw.yaml"


def test_a_campaign_whose_window_is_over_is_refused_by_the_checker_with_its_line():
    found = weixi_json("campaign", "check", FILE, "--at", "2026-12-04T10:00:00+08:00", expect=1)
    errors = [d for d in found if d["severity"] == "error"]
    assert [d["code"] for d in errors] == ["campaign_plan_window_past"]
    to_line = next(i for i, line in enumerate(FILE.read_text(encoding="utf-8").splitlines(), 1) if "to:" in line)
    assert errors[0]["line"] == to_line and errors[0]["file"] == str(FILE)
    assert "2015-06-22" in errors[0]["message"]


def test_the_same_file_checked_inside_its_window_is_clean():
    assert weixi_json("campaign", "check", FILE, "--at", "2015-06-01T10:00:00+08:00") == []
    assert "ok" in weixi("campaign", "check", FILE, "--at", "2015-06-01T10:00:00+08:00").stdout
