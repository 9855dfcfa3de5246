"""The parallel run of the suite (tests/parallel.py): the random order and the groups that keep shared state on one
xdist worker. The last test runs pytest -n 2 on a throwaway folder that uses the suite's own hooks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import parallel

ROOT = Path(__file__).resolve().parents[2]


class Fixture(SimpleNamespace):
    pass


def item(nodeid: str, params: dict | None = None, scopes: dict | None = None, marks: tuple = (), path: str = ""):
    """A stand-in for a collected test: its node id, the parameters of its fixtures and their scopes, its marks."""
    scopes = scopes or {}
    defs = {name: [Fixture(scope=scope)] for name, scope in scopes.items()}
    found = {m.name: m for m in marks}
    return SimpleNamespace(
        nodeid=nodeid,
        path=Path(path or ROOT / nodeid.split("::")[0]),
        callspec=SimpleNamespace(params=params) if params else None,
        _fixtureinfo=SimpleNamespace(name2fixturedefs=defs),
        fixturenames=list(scopes),
        get_closest_marker=found.get,
        iter_markers=lambda name: [m for m in marks if m.name == name],
    )


def suite() -> list:
    items = [item(f"tests/{d}/test_{f}.py::test_{i}") for d in ("unit", "api") for f in "abcd" for i in range(6)]
    items += [
        item(f"tests/unit/test_e.py::test_{i}[{engine}]", {"engine": engine}, {"engine": "module"})
        for engine in ("duckdb", "pyspark")
        for i in range(4)
    ]
    return items


def test_the_random_order_is_a_permutation_and_its_seed_repeats_it():
    items = suite()
    first = [i.nodeid for i in parallel.shuffled(items, 7)]
    assert sorted(first) == sorted(i.nodeid for i in items) and len(first) == len(items)
    assert first == [i.nodeid for i in parallel.shuffled(suite(), 7)]  # every worker collects this order
    assert first != [i.nodeid for i in parallel.shuffled(suite(), 8)]
    assert first != [i.nodeid for i in items]


def runs_of(names: list[str]) -> list[str]:
    return [n for k, n in enumerate(names) if k == 0 or names[k - 1] != n]


def test_the_random_order_keeps_a_folder_and_a_file_together_and_a_module_fixture_set_up_once_per_parameter():
    for seed in range(20):
        order = [i.nodeid for i in parallel.shuffled(suite(), seed)]
        files = runs_of([n.split("::")[0] for n in order])
        assert len(files) == len(set(files)) == 9, files  # each file in one run
        folders = runs_of([n.rpartition("/")[0] for n in order])
        assert len(folders) == len(set(folders)) == 2, folders  # each folder in one run
        engines = [n.split("[")[1] for n in order if "[" in n]
        assert sum(1 for k in range(1, len(engines)) if engines[k] != engines[k - 1]) == 1, engines


def test_a_story_file_keeps_its_order_and_moves_as_a_whole():
    story = [item(f"tests/console/test_story.py::test_{i}", marks=(pytest.mark.file_order.mark,)) for i in range(9)]
    listed = [item(f"{sorted(parallel.IN_FILE_ORDER)[0]}::test_{i}") for i in range(9)]
    orders = [[i.nodeid for i in parallel.shuffled(suite() + story + listed, seed)] for seed in range(10)]
    for order in orders:
        assert [n for n in order if "test_story" in n] == [i.nodeid for i in story]
        assert [n for n in order if n.startswith(listed[0].nodeid.split("::")[0])] == [i.nodeid for i in listed]
    assert len({o.index(story[0].nodeid) for o in orders}) > 1  # the file itself still moves


def test_spark_browser_and_files_with_a_module_fixture_have_a_group():
    spark = pytest.mark.spark.mark
    items = [
        item("tests/unit/segments/test_s.py::test_a[duckdb]", {"engine": "duckdb"}, {"engine": "module"}),
        item("tests/unit/segments/test_s.py::test_a[pyspark]", {"engine": "pyspark"}, {"engine": "module"}, (spark,)),
        item("tests/unit/segments/test_s.py::test_b"),  # same file as a module fixture: same worker
        item("tests/integration/test_close.py::test_spark", marks=(spark,)),
        item("tests/browser/test_x.py::test_page", path=str(parallel.BROWSER_DIR / "test_x.py")),
        item("tests/unit/test_free.py::test_x", {"db_url": "sqlite"}, {"db_url": "function"}),
        item("tests/unit/test_mine.py::test_x", marks=(pytest.mark.xdist_group("mine").mark,)),
    ]
    assert parallel.groups(items) == {
        "tests/unit/segments/test_s.py::test_a[duckdb]": "tests/unit/segments/test_s.py",
        "tests/unit/segments/test_s.py::test_a[pyspark]": "spark",
        "tests/unit/segments/test_s.py::test_b": "tests/unit/segments/test_s.py",
        "tests/integration/test_close.py::test_spark": "spark",
        "tests/browser/test_x.py::test_page": "browser",
        "tests/unit/test_mine.py::test_x": "mine",
    }


CONFTEST = """
from tests.conftest import (  # the suite's own hooks
    pytest_addoption, pytest_collection_finish, pytest_collection_modifyitems, pytest_configure,
    pytest_configure_node, pytest_report_header, pytest_terminal_summary, pytest_unconfigure,
    pytest_xdist_make_scheduler,
)
import os, pytest

@pytest.fixture
def log(request):
    yield
    with open(os.environ["RUN_LOG"], "a") as fh:
        fh.write(request.node.nodeid + " " + os.environ["PYTEST_XDIST_WORKER"] + "\\n")

@pytest.fixture(scope="module")
def built():
    return object()
"""
GROUPED = """
import pytest
@pytest.mark.parametrize("i", range(8))
def test_uses_a_module_fixture(built, log, i):
    pass
"""
SPARK = """
import pytest
@pytest.mark.spark
@pytest.mark.parametrize("i", range(4))
def test_spark(log, i):
    pass
"""
FREE = """
import pytest
@pytest.mark.parametrize("i", range(30))
def test_free(log, i):
    pass
"""


def test_two_workers_in_random_order_keep_each_group_on_one_worker(tmp_path):
    pytest.importorskip("xdist")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_spark_a.py").write_text(SPARK)
    (tmp_path / "test_spark_b.py").write_text(SPARK)
    (tmp_path / "test_free.py").write_text(FREE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    spark: on the JVM\n")
    (tmp_path / "tmp").mkdir()
    env = {
        **os.environ,
        "RUN_LOG": str(tmp_path / "run.log"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
        "TMPDIR": str(tmp_path / "tmp"),
    }
    env.pop("WEIXI_REQUIRE_PG", None)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--shuffle", "-p", "no:randomly"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    seed = re.search(r"random order: --shuffle-seed=(\d+)", r.stdout)
    assert "46 passed" in r.stdout and seed, r.stdout
    assert f"random order: repeat it with --shuffle-seed={seed.group(1)}" in r.stdout, r.stdout
    lines = [line.split() for line in (tmp_path / "run.log").read_text().splitlines()]
    ran = dict(lines)
    assert len(ran) == 46
    spark_worker = ran["test_spark_a.py::test_spark[0]"]
    first = [n for n, w in lines if w == spark_worker][:8]
    assert all(n.startswith("test_spark") for n in first), first  # the spark group is sent first
    workers = {
        kind: Counter(w for n, w in ran.items() if n.startswith(prefix))
        for kind, prefix in (("grouped", "test_grouped"), ("spark", "test_spark"), ("free", "test_free"))
    }
    assert len(workers["grouped"]) == 1 and len(workers["spark"]) == 1, workers
    assert set(workers["free"]) == {"gw0", "gw1"}, workers  # the rest is spread
    assert not list((tmp_path / "tmp").glob("weixi-xdist-*"))  # the groups file is removed at the end
