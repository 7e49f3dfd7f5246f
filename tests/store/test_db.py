"""Engine setup: what each backend needs to serve many worker threads."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from models.facts import InteractionFacts
from store import Store, create_store_engine, init_schema
from store.tables import FACT_FIELDS, InteractionFactRow, store_tables
from tests.audit_keys import open_test_store


def test_sqlite_engine_creates_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "warmline.db"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_postgres_urls_get_the_psycopg_driver() -> None:
    for url in ("postgres://u@h:5432/db", "postgresql://u@h:5432/db"):
        engine = create_store_engine(url)  # lazy: nothing connects
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.database == "db"
        engine.dispose()


def test_in_memory_sqlite_keeps_its_schema() -> None:
    store = open_test_store("sqlite://")
    assert store.count_facts() == 0
    store.close()


def test_init_schema_is_idempotent(store: Store) -> None:
    init_schema(store.engine)
    init_schema(store.engine)
    names = set(inspect(store.engine).get_table_names())
    assert {table.name for table in store_tables()} <= names


def test_fact_row_mirrors_the_contract() -> None:
    """A field added to InteractionFacts must be added to the table too."""
    assert set(InteractionFacts.model_fields) == FACT_FIELDS
    derived = {"started_at_utc", "recorded_at_utc"}
    assert set(InteractionFactRow.model_fields) == FACT_FIELDS | derived
