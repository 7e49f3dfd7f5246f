"""A ``store`` on each backend: a SQLite file per test, and PostgreSQL in a per-session schema.

PostgreSQL comes from ``$WARMLINE_TEST_POSTGRES_URL`` (default: local ``test`` database); see
``tests/pg.py`` for the schema isolation and the skip-locally / fail-in-CI rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from store import Store, create_store_engine, init_schema
from store.tables import store_tables
from tests.audit_keys import open_test_store
from tests.pg import postgres_schema, require_postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL into this session's own schema, dropped when the session ends."""
    require_postgres()
    with postgres_schema() as url:
        yield url


def _emptied(url: str) -> str:
    """Tables created and emptied: tests in one session share the schema, not their rows."""
    engine = create_store_engine(url)
    try:
        init_schema(engine)
        names = ", ".join(f'"{table.name}"' for table in store_tables())
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'warmline.db'}"
    return _emptied(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_test_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
