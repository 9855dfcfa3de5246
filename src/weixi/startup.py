"""A process's imports with Python's cyclic garbage collector paused, and their objects then frozen.

An import makes thousands of long-lived objects (modules, classes, functions) and almost no garbage; the collector
walks them again and again as they pile up. ``weixi close`` of a 1,000-member operator spent 0.28-0.33 s in 520
collections, four of them full ones, most of them during its imports: a sixth of its run. Paused while the modules
load, the objects then moved out of every later collection (:func:`gc.freeze`), it spends 0.01-0.02 s. The collector runs
as before for what the command does afterwards.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def imports_settled() -> Iterator[None]:
    """Run the block (imports) with the collector paused; then freeze what exists and resume it as it was. Safe
    from any thread and when nested (an inner block leaves the collector paused)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


# imported by libraries the close uses only to test whether a value is theirs (PyArrow, DuckDB's client), never used by
# the close on DuckDB: refused in its process and in its ledger process (:mod:`weixi.entry`, ledger_server)
UNUSED_BY_THE_CLOSE = ("pandas", "numpy")


def refuse_import(module: str) -> None:
    """``import module`` (and of its submodules) fails in this process from now on with ``ModuleNotFoundError``, as
    when it is not installed, unless it is imported already. For a command that never uses ``module`` while
    libraries it uses import it only to test whether it is there. (A finder, not ``None`` in ``sys.modules``:
    Cython modules such as PyArrow's take that ``None`` for the module.)"""
    if module not in sys.modules and not any(isinstance(f, _Refused) and f.module == module for f in sys.meta_path):
        sys.meta_path.insert(0, _Refused(module))


class _Refused:  # a finder of sys.meta_path (importlib.abc costs 12 ms of imports)
    def __init__(self, module: str) -> None:
        self.module = module

    def find_spec(self, name, path=None, target=None):
        if name == self.module or name.startswith(self.module + "."):
            raise ModuleNotFoundError(f"No module named {name!r} (refused in this process)", name=name)
        return None


def load_on_use(package: str) -> bool:
    """Make ``package`` importable without running its ``__init__`` when that only imports names from its own
    submodules: each submodule then loads when it is imported or read as an attribute, and each of those names when
    it is read. Whether it was done (not when the package is imported already, or its ``__init__`` does anything
    else). For a package that imports every one of its many submodules when a process needs one: Ibis's SQL
    compilers (twenty dialects for DuckDB's one: 0.06 CPU-seconds of the close, in the thread that loads Ibis's
    DuckDB backend beside the accrual)."""
    import ast
    import importlib
    import importlib.util

    if package in sys.modules:
        return False
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return False
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(package + "."):
            names.update((a.asname or a.name, node.module) for a in node.names)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # the docstring
            continue
        elif not isinstance(node, ast.Assign | ast.AnnAssign) or not all(  # only __all__ set besides
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ):
            return False
    module = importlib.util.module_from_spec(spec)
    module.__all__ = list(names)

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        if not name.startswith("__"):
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as missing:
                if missing.name != f"{package}.{name}":
                    raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return True


# set by :mod:`weixi.entry` for a command after which the process ends at once (:func:`end_now`): what the command
# would only tidy up at its end (memory given back) it may leave to the operating system
process_ends_after_command = False


def end_now(code: int) -> None:
    """End the process with ``code`` as a normal exit does (its output flushed, its exit handlers run) but without
    the interpreter's teardown: the operating system takes back its memory at once, where the teardown releases
    every object one by one. Threads still running end with it, as daemon threads do: a command that calls this
    has joined those whose work must end."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone: nothing more can be written to it anyway
            pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
