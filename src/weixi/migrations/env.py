"""Alembic environment: run by :func:`weixi.adapters.schema.upgrade` with a live connection."""

from alembic import context

from weixi.adapters import auth_tables  # noqa: F401  (users, sessions, audit log: migration 0002)
from weixi.adapters.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
