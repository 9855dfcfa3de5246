"""``python -m weixi close`` starts with the close's own modules only (the other commands' imports cost about a
second of a scheduled close's start-up); importing the package still registers every command."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = (
    "import sys, weixi; weixi.cli_args = {args!r}; import weixi.cli; from weixi.cli.app import app; "
    "import json; print(json.dumps({{'commands': sorted(c.name for c in app.registered_commands), "
    "'campaigns': 'weixi.cli.campaigns' in sys.modules, 'scipy': 'scipy' in sys.modules, "
    "'ledger_commands': 'weixi.cli.ledger' in sys.modules, 'alembic': 'alembic' in sys.modules}}))"
)


def _probe(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    """``python -c code args`` from the repository's root, its output captured as text."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_close_command_imports_only_its_own_modules():
    alone = _probe(["close", "--month", "2026-10"])
    assert "close" in alone["commands"]
    assert not alone["campaigns"] and not alone["scipy"]
    # nor the ledger commands' module (for the shared options) nor Alembic (to check the schema's revision)
    assert not alone["ledger_commands"] and not alone["alembic"]
    everything = _probe([])  # `import weixi.cli` anywhere else: every command
    assert everything["campaigns"] and {"close", "demo", "serve"} <= set(everything["commands"])
    assert set(alone["commands"]) < set(everything["commands"])


def test_the_close_command_started_alone_answers_as_before():
    done = subprocess.run(
        [sys.executable, "-m", "weixi", "close", "--month", "2026-13", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "not_a_month"  # the coded envelope of every command


def test_the_installed_weixi_command_takes_the_same_start():
    """The ``weixi`` console script (pyproject ``[project.scripts]``) goes through :mod:`weixi.entry` too, not only
    ``python -m weixi``."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["weixi"] == "weixi.entry:main"
    main_py = (ROOT / "src" / "weixi" / "__main__.py").read_text(encoding="utf-8")
    assert "from weixi.entry import main" in main_py


def test_a_command_leaves_the_database_file_whole(tmp_path):
    """A command ends without the interpreter's last garbage collections (:mod:`weixi.entry`), but its database
    connections are still closed: the SQLite file alone holds every commit (its WAL written back into it), so a copy
    of the file alone, as a backup takes it, has the plan the command applied."""
    db = tmp_path / "weixi.db"
    for args in (["init"], ["plan", "apply", str(ROOT / "plans/examples/telecom-points.yaml")]):
        done = subprocess.run(
            [sys.executable, "-m", "weixi", *args, "--db", str(db), "--json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    wal = tmp_path / "weixi.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "backup.db"
    copy.write_bytes(db.read_bytes())
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM plan_versions").fetchone()[0] == 1


def test_a_close_starts_without_pandas(tmp_path):
    """What a close reads before its accrual (the closes' rows, the lake's damage check) does not import pandas
    (0.3 s, which PyArrow's dataset module pulls in): it is loaded beside the accrual (``backends.warm``)."""
    from weixi.close import store

    store.write_manifest(tmp_path, "2026-09", {"status": "closed"})
    probe = (
        "import sys; from pathlib import Path; from weixi.close import store; d = Path(sys.argv[1]); "
        "print(store.read_manifest(d, '2026-09')['status'], store.damage(d), 'pandas' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["closed", "[]", "False"]


# ``weixi ARGS`` through weixi.entry, then whether pandas and NumPy are loaded, importable or refused as it ends
IMPORTS_AT_EXIT = (
    "import atexit, importlib.util, sys\n"
    "def report():\n"
    "    for m in ('pandas', 'numpy'):\n"
    "        try:\n"
    "            state = 'loaded' if m in sys.modules else 'importable' if importlib.util.find_spec(m) else 'absent'\n"
    "        except ModuleNotFoundError:\n"
    "            state = 'refused'\n"
    "        print(f'{m}: {state}', file=sys.stderr)\n"
    "    from weixi import startup\n"
    "    print(f'ends at once: {startup.process_ends_after_command}', file=sys.stderr)\n"
    "atexit.register(report)\n"
    "sys.argv = ['weixi', *sys.argv[1:]]\nfrom weixi.entry import main\nmain()\n"
)


def imports_at_exit(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("pandas:", "numpy:"))]


def test_a_close_on_duckdb_cannot_import_pandas_or_numpy_and_one_on_pyspark_can():
    """The close never uses pandas or NumPy, which PyArrow and DuckDB's client import whenever they can (0.4
    CPU-seconds of its start-up): ``weixi close`` on DuckDB refuses them before anything loads. On PySpark (whose
    driver may convert through pandas) and in any other command they stay importable. (A whole close through the
    command, with its lake rows equal to a close in process: ``test_close_early``.)"""
    seen, ends = {}, {}
    for name, args in {
        "duckdb": ["close", "--month", "2026-13", "--json"],
        "duckdb, said": ["close", "--month", "2026-13", "--engine=duckdb", "--json"],
        "pyspark": ["close", "--month", "2026-13", "--engine", "pyspark", "--json"],
        "another command": ["plan", "check", str(ROOT / "plans/examples/telecom-points.yaml"), "--json"],
    }.items():
        done = _python(IMPORTS_AT_EXIT, *args)
        seen[name] = imports_at_exit(done.stderr)
        ends[name] = "ends at once: True" in done.stderr
    assert seen["duckdb"] == seen["duckdb, said"] == ["pandas: refused", "numpy: refused"]
    for name in ("pyspark", "another command"):
        assert len(seen[name]) == 2 and not any(line.endswith("refused") for line in seen[name]), name
    # and only the close on DuckDB ends its process without the interpreter's teardown (startup.end_now)
    assert [ends[name] for name in ("duckdb", "pyspark", "another command")] == [True, False, False]


def test_refuse_import_fails_an_import_as_a_missing_package_does_but_keeps_one_made():
    """A refused module (and its submodules) raises ``ModuleNotFoundError``, which libraries that only test whether
    it is there catch, Cython ones included (PyArrow's pandas test: a ``None`` in ``sys.modules`` broke its dataset
    module); one imported already stays."""
    probe = (
        "from weixi.startup import refuse_import\nimport json, sys\n"
        "refuse_import('json'); refuse_import('pandas'); refuse_import('pandas')\n"
        "import json as again\nimport pyarrow.dataset\nimport pyarrow as pa\n"
        "try:\n    import pandas.core\nexcept ModuleNotFoundError as e:\n    print('refused', e.name, again.dumps(1))\n"
        "print(pa.scalar(True).as_py(), len([f for f in sys.meta_path if type(f).__name__ == '_Refused']))\n"
    )
    done = _python(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refused", "pandas", "1", "True", "1"]


def test_end_now_ends_as_an_exit_does_output_handlers_and_code():
    """:func:`weixi.startup.end_now` (the end of ``weixi close``): what was written but not flushed is out, the exit
    handlers ran, the code is the process's; only the interpreter's teardown is skipped."""
    probe = (
        "import atexit, sys\nfrom weixi.startup import end_now\n"
        "atexit.register(lambda: print('handler ran'))\nsys.stdout.write('written, not flushed; ')\nend_now(3)\n"
        "print('never')\n"
    )
    done = _python(probe)
    assert (done.returncode, done.stdout) == (3, "written, not flushed; handler ran\n")


def test_the_close_waits_for_its_duckdb_to_close_unless_the_process_ends_and_nothing_spilled(tmp_path):
    """The close's DuckDB is closed in a thread (its memory given back while the ledger's tiers are written); the
    close waits for it at its end, unless its process ends right after (the command: the operating system takes
    the rest back at once) and the database spilled nothing to disk, which only its close removes."""
    import duckdb

    from weixi.close.run import _release

    for process_ends, waits in ((True, False), (False, True)):
        con = duckdb.connect()
        closing, wait = _release(con, process_ends)
        assert wait is waits and closing.daemon  # (a thread the process's end stops)
        closing.join()
        with pytest.raises(duckdb.ConnectionException):
            con.execute("SELECT 1")  # closed either way
    spilled = duckdb.connect()
    for setting in (f"temp_directory = '{tmp_path}'", "memory_limit = '60MB'", "threads = 1"):
        spilled.execute(f"SET {setting}")
    spilled.execute("CREATE TABLE big AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(3000000)")
    assert list(tmp_path.iterdir())  # spilled
    closing, wait = _release(spilled, process_ends=True)
    assert wait  # its files are removed by its close: waited for, even by the command
    closing.join()
    assert not list(tmp_path.iterdir())


def test_a_command_runs_with_the_collector_on_after_its_imports_were_frozen():
    """:mod:`weixi.entry` imports the CLI and the close's own modules (``weixi.cli.RUNS``) with Python's garbage
    collector paused, then freezes them (:func:`weixi.startup.imports_settled`: 0.3 s of collections at a close's
    start); the command itself runs with the collector on, as a server must."""
    probe = (
        "import gc, json, sys, weixi; weixi.cli_args = ['close']; import weixi.cli, weixi.entry; seen = {}\n"
        "def fake():\n"
        "    seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), run='weixi.close.run' in sys.modules)\n"
        "import atexit; atexit.register(lambda: print(json.dumps(seen)))  # weixi close ends its process\n"
        "weixi.cli.main = fake; sys.argv = ['weixi', 'close', '--month', '2026-10']; weixi.entry.main()\n"
    )
    done = _python(probe)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["enabled"] and seen["run"]
    assert seen["frozen"] > 10_000  # the modules' objects, out of every collection


def test_the_collector_is_paused_only_inside_the_block_and_nests():
    import gc

    from weixi.startup import imports_settled

    before = gc.get_freeze_count()
    try:
        assert gc.isenabled()
        with imports_settled():
            assert not gc.isenabled()
            with imports_settled():
                kept = [[] for _ in range(1000)]
            assert not gc.isenabled()  # the outer block still pauses it
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()
        gc.enable()


def test_load_on_use_imports_a_packages_submodules_only_when_they_are_used(tmp_path):
    """:func:`weixi.startup.load_on_use` (the close on DuckDB: Ibis's SQL compilers): a package whose ``__init__``
    only imports names of its submodules loads each submodule when it, or a name of it, is used; a package whose
    ``__init__`` does anything else is imported as it is."""
    lazy, plain = tmp_path / "lazypkg", tmp_path / "plainpkg"
    for pkg, extra in ((lazy, ""), (plain, "print('ran')\n")):
        pkg.mkdir()
        (pkg / "__init__.py").write_text(
            f'"""Doc."""\nfrom __future__ import annotations\n__all__ = ["A", "B"]\n'
            f"from {pkg.name}.a import A\nfrom {pkg.name}.b import B\n{extra}",
            encoding="utf-8",
        )
        (pkg / "a.py").write_text("A = 'a'\n", encoding="utf-8")
        (pkg / "b.py").write_text("B = 'b'\n", encoding="utf-8")
    probe = (
        "import sys\nsys.path.insert(0, sys.argv[1])\nfrom weixi.startup import load_on_use\n"
        "print(load_on_use('lazypkg'), load_on_use('lazypkg'), load_on_use('plainpkg'))\n"
        "import plainpkg\nimport lazypkg\nprint(sorted(m for m in sys.modules if m.startswith('lazypkg.')))\n"
        "print(lazypkg.A, sorted(m for m in sys.modules if m.startswith('lazypkg.')))\n"
        "from lazypkg.b import B\nprint(B, lazypkg.b.B, lazypkg.__all__)\n"
        "try:\n    lazypkg.C\nexcept AttributeError as e:\n    print('no C')\n"
        "import ibis.backends.duckdb, ibis\n"
        "print(load_on_use('ibis.backends.sql.compilers') or 'ibis loaded')\n"
    )
    done = _python(probe, str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "True False False",
        "ran",  # plainpkg: imported as it is (its __init__ prints)
        "[]",
        "a ['lazypkg.a']",
        "b b ['A', 'B']",
        "no C",
        "ibis loaded",
    ]
    # Ibis's DuckDB backend on a process that loads its compilers on use: only DuckDB's compiler is imported
    probe = (
        "import sys\nfrom weixi.startup import load_on_use\nprint(load_on_use('ibis.backends.sql.compilers'))\n"
        "import ibis\ncon = ibis.duckdb.connect()\n"
        "t = ibis.memtable({'x': [1, 2, 3]})\nprint(con.to_pyarrow(t.x.sum().name('s')).as_py())\n"
        "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('ibis.backends.sql.compilers.')))\n"
    )
    done = _python(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True", "6", "['_compat', 'base', 'duckdb']"]
