"""The schema check every command makes (``cli.db.open_engine``) reads the revisions without Alembic: the newest
packaged revision is Alembic's own head, and a database's revision is what Alembic recorded."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from weixi.adapters import schema
from weixi.adapters.db import make_engine


def test_head_is_alembics_head():
    assert schema.head() == ScriptDirectory.from_config(schema._config()).get_current_head()


def test_current_is_none_then_the_revision_alembic_recorded(tmp_path):
    engine = make_engine(str(tmp_path / "w.db"))
    assert schema.current(engine) is None  # no schema yet
    assert schema.upgrade(engine) == schema.head()
    assert schema.current(engine) == schema.head()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0023'")
    assert schema.current(engine) == "0023"  # an older database: the commands refuse it (database_not_initialised)
