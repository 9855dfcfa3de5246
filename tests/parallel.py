"""The parallel run (``pytest -n 2 --dist loadgroup``, pytest-xdist) and the random order (``--shuffle``).

Under xdist a test may run on any worker, and each worker builds its own session- and module-scoped fixtures. So
that the expensive ones are built once and shared state stays in one process, tests are put in groups, and a group
runs on one worker:

- ``spark``: every test marked ``spark`` (one JVM for the whole run, not one per worker);
- ``browser``: tests/browser (one Chromium and one uvicorn server);
- ``<file>``: the tests of a file that uses a module- or class-scoped fixture (built once, not once per worker);
- an ``xdist_group`` mark written in a test file is honoured too.

Everything else is scheduled test by test. ``spark`` and ``browser`` are sent first, then the largest groups.

Why not xdist's own ``loadgroup``: it passes the group from worker to controller by appending ``@group`` to the
test's node id, which pytest 9.2 no longer lets a plugin change (pytest-dev/pytest-xdist#1386: the tests are then
spread as if ungrouped, silently). Here the workers write the groups to a file that the controller's scheduler
reads (``pytest_xdist_make_scheduler``, xdist's hook for custom schedulers); node ids are left alone.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

WIDE_SCOPES = ("module", "class", "package")
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
# Files written as one story over a module-scoped fixture (a test relies on what the one before it did): --shuffle
# moves them as a whole but keeps their tests in the order written. A file can also say so itself with
# ``pytestmark = pytest.mark.file_order``. (Better: make each test set up what it needs, then drop it from here.)
IN_FILE_ORDER = {
    "tests/console/test_analyst_jobs.py",  # an empty operator, then train, score and build, then read the results
    "tests/browser/test_manager_agent.py",  # the agent works the queue the manager then reassigns
}
# Sent first: the PySpark close alone takes minutes, and the browser tests are the next longest group; started
# last, either would end the run alone on one worker.
FIRST = ("group:spark", "group:browser")


def file_of(nodeid: str) -> str:
    return nodeid.split("::")[0]


def wide_params(item) -> tuple:
    """The parameters of ``item``'s module-, class-, package- or session-scoped fixtures."""
    callspec = getattr(item, "callspec", None)
    info = getattr(item, "_fixtureinfo", None)
    if callspec is None or info is None:
        return ()
    defs = info.name2fixturedefs
    return tuple(
        (name, repr(value))
        for name, value in sorted(callspec.params.items())
        if defs.get(name) and defs[name][-1].scope in WIDE_SCOPES + ("session",)
    )


def shuffled(items: list, seed: int) -> list:
    """Folders in a random order, the files of each folder in a random order (a folder's package-scoped fixtures
    are set up once, as in file order); within a file, its runs of tests that share wide-scoped fixture parameters
    in a random order (so that such a fixture is not set up again and again), each run shuffled, unless the file is
    kept in the order written (``IN_FILE_ORDER``). One seed, one order: every xdist worker must collect the same
    order."""
    rng = random.Random(seed)
    folders: dict[str, dict[str, list]] = {}
    for item in items:
        file = file_of(item.nodeid)
        folders.setdefault(file.rpartition("/")[0], {}).setdefault(file, []).append(item)
    result = []
    for files in rng.sample(list(folders.values()), len(folders)):
        for file_items in rng.sample(list(files.values()), len(files)):
            if file_of(file_items[0].nodeid) in IN_FILE_ORDER or file_items[0].get_closest_marker("file_order"):
                result += file_items
                continue
            runs: dict[tuple, list] = {}
            for item in file_items:
                runs.setdefault(wide_params(item), []).append(item)
            for block in rng.sample(list(runs.values()), len(runs)):
                result += rng.sample(block, len(block))
    return result


def uses_wide_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        defs and defs[-1].scope in WIDE_SCOPES
        for name, defs in info.name2fixturedefs.items()
        if name in item.fixturenames
    )


def group_of(item, wide_files: set[str]) -> str | None:
    """The group ``item`` runs in, or None when it may run anywhere."""
    marks = sorted(
        {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    )
    if marks:
        return "_".join(marks)
    if item.get_closest_marker("spark"):
        return "spark"
    if Path(str(item.path)).is_relative_to(BROWSER_DIR):
        return "browser"
    file = file_of(item.nodeid)
    return file if file in wide_files else None


def groups(items: list) -> dict[str, str]:
    """node id -> group, for the grouped tests of ``items``."""
    wide_files = {file_of(item.nodeid) for item in items if uses_wide_fixture(item)}
    found = {item.nodeid: group_of(item, wide_files) for item in items}
    return {nodeid: group for nodeid, group in found.items() if group}


def write_groups(path: Path, mapping: dict[str, str]) -> None:
    """Written by each worker (they collect the same tests): to a temporary file, then renamed into place."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(mapping), encoding="utf-8")
    os.replace(tmp, path)


def make_scheduler(config, log, path: Path):
    """xdist's load-scope scheduler with the groups of :func:`groups`; xdist imported only here (a plain
    ``pytest`` run does not need it)."""
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:  # first called once every worker has finished collecting
                self._groups = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            group = self._groups.get(nodeid)
            return f"group:{group}" if group else super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            for scope in FIRST:  # the longest groups start first, on different workers
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
                    break
            super()._assign_work_unit(node)

    return GroupScheduling(config, log)
