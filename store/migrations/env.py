"""Alembic environment: always runs on the connection ``store.migrate`` hands it.

That connection is already inside the transaction that holds the migration lock (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock), so concurrent starts of several workers
migrate once and the others find the schema at head.
"""

from __future__ import annotations

from alembic import context

from store.migrate import migrated_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=migrated_metadata(),
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
