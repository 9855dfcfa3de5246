"""Create or upgrade the database schema with the packaged Alembic migrations."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*(None|"[^"]*")', re.M)


def _config():
    from alembic.config import Config  # Alembic is imported to migrate, not to check (a CLI command's start-up)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it. Safe to run again."""
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head()


def head() -> str:
    """The newest revision of the packaged migrations: the one no other revision follows (the history is one line;
    read from the files' ``revision`` and ``down_revision`` lines, without importing Alembic: about half a second of
    every command's start-up; a test compares it with Alembic's own head)."""
    revisions, follows = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"].strip('"'))
            if found.get("down_revision", "None") != "None":
                follows.add(found["down_revision"].strip('"'))
    heads = sorted(revisions - follows)
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema), as Alembic records it in ``alembic_version``."""
    with engine.connect().execution_options(readonly=True) as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    if len(rows) > 1:
        raise RuntimeError(f"the database is at {len(rows)} revisions: {[r[0] for r in rows]}")
    return rows[0][0] if rows else None
