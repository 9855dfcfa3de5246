"""No source module over 500 lines: a module that grows past it is split along the stages or concerns it already
has (issue 17), never exempted here."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "weixi"
MAX_LINES = 500


def test_no_module_in_src_is_over_500_lines():
    sizes = {
        path.relative_to(SRC.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in SRC.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the package
    too_long = {name: n for name, n in sorted(sizes.items()) if n > MAX_LINES}
    assert too_long == {}, f"modules over {MAX_LINES} lines (split them along their stages): {too_long}"
