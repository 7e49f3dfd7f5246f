"""Alembic migrations: a new store and an upgraded one get exactly the tables the code defines,
and a database made by the release before migrations keeps every row through the upgrade.

The previous release's schema is replayed from ``release_e84c661/<dialect>.sql``, generated once
from that release's own ``create_all`` (not from the baseline revision, which would make the
test circular).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from store import Store, create_store_engine, init_schema
from store.migrate import current_revision, head_revision, migrated_metadata, upgrade
from tests.audit_keys import TEST_AUDIT_KEYS, open_test_store
from tests.pg import postgres_schema, require_postgres
from tests.store.builders import make_events, make_record
from warmline.audit import GENESIS_HASH, canonical_json, chain_hash

RELEASE_DDL = Path(__file__).parent / "release_e84c661"


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'release.db'}"
        return
    require_postgres()
    with postgres_schema(prefix="wl_migrate") as url:
        yield url


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), migrated_metadata()))


def create_release_schema(engine: Engine) -> None:
    lines = (RELEASE_DDL / f"{engine.dialect.name}.sql").read_text().splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in ddl.split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def legacy_chain(stream: str, count: int) -> list[dict[str, object]]:
    """Audit rows as that release wrote them: an unkeyed SHA-256 chain."""
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        event = {
            "stream": stream,
            "seq": seq,
            "kind": "routing_config_saved",
            "at": f"2024-12-01T00:00:0{seq}+00:00",
            "actor": "ops",
            "payload": {"version": seq},
        }
        link = chain_hash(prev, event)
        rows.append({**event, "payload": canonical_json(event["payload"]), "position": seq,
                     "prev_hash": prev, "hash": link})  # fmt: skip
        prev = link
    return rows


def fill_release(engine: Engine) -> None:
    # Only the columns that release's table had (facts gained fields since).
    released = {c["name"] for c in inspect(engine).get_columns("interaction_facts")}
    facts = {k: v for k, v in make_record("old-1").facts.model_dump().items() if k in released}
    columns = ", ".join(facts)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO interaction_facts ({columns}, started_at_utc) VALUES "
                f"({', '.join(':' + c for c in facts)}, :started)"
            ),
            {**facts, "started": "2025-01-01 10:00:00+00:00"},
        )
        for row in legacy_chain("routing-config", 3):
            conn.execute(
                text(
                    "INSERT INTO audit_events (stream, seq, position, kind, at, actor, payload, "
                    "prev_hash, hash) VALUES (:stream, :seq, :position, :kind, :at, :actor, "
                    ":payload, :prev_hash, :hash)"
                ),
                row,
            )
        conn.execute(
            text(
                "INSERT INTO routing_configs (version, author, created_at, document) VALUES "
                "(1, 'ops', '2024-12-01 00:00:00+00:00', :doc)"
            ),
            {"doc": json.dumps({"version": 1})},
        )
        conn.execute(
            text(
                "INSERT INTO transcript_archive (interaction_id, run_index, entries) VALUES "
                "('old-1', 0, :entries)"
            ),
            {"entries": json.dumps([{"turn": 1, "sender": "customer", "text": "hi", "at": "t"}])},
        )


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "facts": "SELECT interaction_id, region, cost_usd, started_at FROM interaction_facts",
        "audit": "SELECT stream, seq, position, payload, prev_hash, hash FROM audit_events "
        "ORDER BY stream, position",
        "configs": "SELECT version, author, document FROM routing_configs",
        "transcripts": "SELECT interaction_id, run_index, entries FROM transcript_archive",
    }
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(q))] for name, q in queries.items()}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_new_store_has_exactly_the_tables_the_code_defines(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        store = open_test_store(url)
        try:
            assert schema_differences(store.engine) == []
            with store.engine.connect() as conn:
                assert current_revision(conn) == head_revision()
            init_schema(store.engine)  # idempotent: a second start changes nothing
            assert schema_differences(store.engine) == []
        finally:
            store.close()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_previous_release_upgrades_without_losing_anything(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as url:
        engine = create_store_engine(url)
        try:
            create_release_schema(engine)
            # That release could lack an index added later: the baseline adds what is missing.
            with engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_interaction_facts_endpoint_started"))
            fill_release(engine)
            before = snapshot(engine)
            assert upgrade(engine) is None  # no revision recorded: a pre-migrations store
            assert schema_differences(engine) == []
            assert snapshot(engine) == before
            indexes = {i["name"] for i in inspect(engine).get_indexes("interaction_facts")}
            assert "ix_interaction_facts_endpoint_started" in indexes
        finally:
            engine.dispose()
        store = open_test_store(url)
        try:
            # The old unkeyed chain verifies and keyed links continue it.
            assert store.verify_audit("routing-config") == (True, None)
            store.append_audit(make_events("routing-config", 4))
            trail = store.audit_trail("routing-config")
            assert [e.key_id for e in trail] == [None, None, None, TEST_AUDIT_KEYS.signing_key_id]
            assert store.verify_audit("routing-config") == (True, None)
            # Writes that need the new tables work on the upgraded store.
            assert store.record_interaction(make_record("new-1"))
            assert store.get_facts("old-1") is not None
            archive = store.interaction_archive("new-1")
            assert archive is not None and archive.region == "us"
        finally:
            store.close()


def test_stores_opened_together_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with ThreadPoolExecutor(max_workers=4) as pool:  # replicas starting at the same moment
        stores = list(pool.map(lambda _: Store.from_url(url), range(4)))
    try:
        with stores[0].engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            versions = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
        assert versions == 1
    finally:
        for store in stores:
            store.close()
