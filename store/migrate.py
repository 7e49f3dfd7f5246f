"""Schema migrations (Alembic): every store is brought to the newest revision when it opens.

``Store.from_url`` and ``warmline db upgrade`` both call ``upgrade``, so a fresh database and an
upgraded one get the schema from the same revisions (``tests/store/test_migrations.py`` compares
the result with the SQLModel tables). Revision ``0001`` is the schema of the release before
migrations existed; it creates only what is missing, so a database that release created is
adopted as it is. Later revisions change it step by step.

Adding a revision (e.g. a new table): define the SQLModel table and list it in
``store_tables()``, then write ``store/migrations/versions/NNNN_<what>.py`` with ``revision =
"NNNN"``, ``down_revision`` = the previous one, and ``op.create_table`` / ``op.add_column`` in
``upgrade()`` (copy ``0002`` for the shape, or render the operations with
``python -m store.migrate draft``, which prints what the tables have that the newest revision
lacks). Use plain SQLAlchemy types in revisions (never live model classes: a revision is a
frozen record). The migration test fails until the revision matches the tables.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from alembic import command
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, text

from store.db import write_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
ADVISORY_LOCK_KEY = 0x5741524D  # "WARM": one migrator at a time per PostgreSQL database


@cache
def migrated_metadata() -> MetaData:
    """Every table the migrations own (the store's and the fleet health tables)."""
    from store.abuse import abuse_tables
    from store.health import health_tables
    from store.intervals import interval_tables
    from store.staffing_plan import plan_tables
    from store.tables import store_tables
    from store.wfm_events import wfm_event_tables

    metadata = MetaData()
    tables = [
        *store_tables(),
        *health_tables(),
        *interval_tables(),
        *plan_tables(),
        *wfm_event_tables(),
        *abuse_tables(),
    ]
    for table in tables:
        table.to_metadata(metadata)
    return metadata


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to ``revision`` (default: newest) under the migration lock; returns the revision
    the database was at before (None: new or pre-migrations)."""
    with write_engine(engine).connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        before = current_revision(connection)
        target = head_revision() if revision == "head" else revision
        if before != target:
            command.upgrade(alembic_config(connection), revision)
        connection.commit()
    return before


def draft(engine: Engine) -> str:
    """Alembic operations that would bring the migrated ``engine`` to the SQLModel tables."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        operations = produce_migrations(context, migrated_metadata())
    assert operations.upgrade_ops is not None
    return render_python_code(operations.upgrade_ops)


if __name__ == "__main__":  # python -m store.migrate draft
    from store.db import create_store_engine

    if sys.argv[1:] != ["draft"]:
        raise SystemExit("usage: python -m store.migrate draft")
    scratch = create_store_engine("sqlite://")
    upgrade(scratch)
    print(draft(scratch))
