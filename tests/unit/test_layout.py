"""The source tree keeps its private names private: no module imports another module's `_helper`, and none reaches
into an imported module for one (`archive._scan`). A helper two modules share is public (no underscore) where it
lives, or moves to where it belongs. Read from the AST of every module under src/, so nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_of(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(here: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, relative imports resolved against the importing module."""
    if not node.level:
        return node.module or ""
    base = here.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def private_imports(path: Path) -> list[str]:
    """Every `from other import _name` and every `other._name` of an imported weixi name in one module."""
    here, is_package = _module_of(path), path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found, imported = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(here, is_package, node)
            for alias in node.names:
                if source != here and _private(alias.name):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: from {source} import {alias.name}")
                if source.startswith("weixi"):
                    imported[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("weixi"):
                    imported[alias.asname or alias.name.split(".")[0]] = alias.name
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"{path.relative_to(SRC)}:{node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
            and _private(node.attr)
            and imported[node.value.id] != here
        ):
            found.append(
                f"{path.relative_to(SRC)}:{node.lineno}: {node.value.id}.{node.attr} ({imported[node.value.id]})"
            )
    return found


def test_no_module_imports_another_modules_private_names():
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in private_imports(path)]
    assert not found, "private names used across modules (make the helper public or move it):\n" + "\n".join(found)


def test_the_check_sees_both_forms(tmp_path, monkeypatch):
    pkg = tmp_path / "weixi" / "area"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    bad = pkg / "use.py"
    bad.write_text(
        "from weixi.other import _helper, public\nfrom . import _sibling\nfrom weixi import store\n"
        "x = store._rows()\n\ndef _mine():\n    return _mine\n"
    )
    monkeypatch.setattr(f"{__name__}.SRC", tmp_path)
    hits = private_imports(bad)
    assert [h.split(": ", 1)[1] for h in hits] == [
        "from weixi.other import _helper",
        "from weixi.area import _sibling",
        "store._rows (weixi.store)",
    ]
