"""``verify_trail`` on a real store (SQLite and PostgreSQL): every kind of tampering is named.

Tampering is done the way an attacker with database access would: plain SQL on the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import Session

from models.audit import AuditVerifyReport, CheckpointExport
from store import Store
from store.audit_checkpoints import export_checkpoints, stored_public_keys, take_checkpoint
from store.audit_verify import verify_trail
from tests.audit_keys import TEST_AUDIT_KEYS, TEST_SIGNING_KEY
from tests.store.builders import make_events, make_record
from warmline.audit import AuditKeyRing
from warmline.audit_checkpoint import key_fingerprint, public_key_bytes

PUBLIC = public_key_bytes(TEST_SIGNING_KEY)
TRUSTED = {key_fingerprint(PUBLIC): PUBLIC}
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def verify(store: Store, **kw: object) -> AuditVerifyReport:
    return verify_trail(store.engine, TEST_AUDIT_KEYS, TRUSTED, **kw)  # type: ignore[arg-type]


def first(report: AuditVerifyReport) -> tuple[str, int | None, str]:
    assert not report.ok
    finding = report.findings[0]
    return finding.stream, finding.position, finding.problem


def filled(store: Store) -> Store:
    store.append_audit(make_events("fleet", 5) + make_events("routing-config", 3))
    assert store.record_interaction(make_record("i-1", events=3))
    return store


def checkpoint(store: Store) -> None:
    assert take_checkpoint(store.engine, TEST_SIGNING_KEY, NOW, store.session_info) is not None


def test_an_intact_trail_with_checkpoints_verifies(store: Store) -> None:
    checkpoint(filled(store))
    store.append_audit(make_events("fleet", 7))  # 6 and 7 are new: a second segment
    checkpoint(store)
    assert take_checkpoint(store.engine, TEST_SIGNING_KEY, NOW) is None  # nothing new
    report = verify(store)
    assert report.ok, report.findings
    assert (report.records, report.streams, report.checkpoints) == (14, 3, 2)


def test_an_altered_record_is_named(store: Store) -> None:
    filled(store)
    sql(store, "UPDATE audit_events SET actor = 'mallory' WHERE stream = 'fleet' AND seq = 3")
    assert first(verify(store)) == ("fleet", 3, "contents do not match its MAC (altered)")
    assert store.verify_audit("fleet") == (False, 3)


def test_a_removed_record_is_named(store: Store) -> None:
    filled(store)
    sql(store, "DELETE FROM audit_events WHERE stream = 'fleet' AND seq = 2")
    assert first(verify(store)) == ("fleet", 3, "records at positions 2..2 are missing")


def test_reordered_records_are_named(store: Store) -> None:
    filled(store)
    # Swap what positions 2 and 3 say (the row ids and positions stay as they were).
    sql(
        store,
        "UPDATE audit_events SET position = -position WHERE stream = 'fleet' AND seq IN (2, 3)",
    )
    sql(store, "UPDATE audit_events SET position = 3 WHERE stream = 'fleet' AND position = -2")
    sql(store, "UPDATE audit_events SET position = 2 WHERE stream = 'fleet' AND position = -3")
    stream, position, problem = first(verify(store))
    assert (stream, position) == ("fleet", 2)
    assert "does not link" in problem


def test_an_inserted_record_is_named(store: Store) -> None:
    filled(store)
    # Make room at position 3 (in two steps: the unique index is checked row by row).
    sql(
        store, "UPDATE audit_events SET position = -position - 1 WHERE stream = 'fleet' AND seq > 2"
    )
    sql(
        store,
        "UPDATE audit_events SET position = -position WHERE stream = 'fleet' AND position < 0",
    )
    row = {"s": "fleet", "q": 99, "p": 3, "k": "config_saved", "a": "t", "who": "mallory"}
    with store.engine.begin() as conn:
        prev = conn.execute(
            text("SELECT hash FROM audit_events WHERE stream = 'fleet' AND position = 2")
        ).scalar_one()
        forged = AuditKeyRing({"test-2": b"x" * 32}).sign("anything")[1]
        conn.execute(
            text(
                "INSERT INTO audit_events (stream, seq, position, kind, at, actor, payload, "
                "prev_hash, hash, key_id) VALUES (:s, :q, :p, :k, :a, :who, '{}', :prev, :h, "
                "'test-2')"
            ),
            {**row, "prev": prev, "h": forged},
        )
    assert first(verify(store)) == ("fleet", 3, "contents do not match its MAC (altered)")


def test_removing_the_last_records_or_a_whole_stream_shows_against_the_checkpoint(
    store: Store,
) -> None:
    checkpoint(filled(store))
    sql(store, "DELETE FROM audit_events WHERE stream = 'fleet' AND seq = 5")
    stream, position, problem = first(verify(store))
    assert (stream, position) == ("fleet", 5)
    assert "now ends at 4" in problem

    sql(store, "DELETE FROM audit_events WHERE stream = 'routing-config'")
    lost = {(f.stream, f.position) for f in verify(store).findings}
    assert {("fleet", 5), ("routing-config", 3)} <= lost


def test_an_exported_copy_catches_a_rewritten_checkpoint_table(store: Store) -> None:
    checkpoint(filled(store))
    with Session(store.engine) as session:
        exported = CheckpointExport(
            public_keys=stored_public_keys(session), checkpoints=export_checkpoints(session)
        )
    # Whoever deletes a record and the checkpoint that signed it...
    sql(store, "DELETE FROM audit_events WHERE stream = 'fleet' AND seq = 5")
    sql(store, "DELETE FROM audit_checkpoint_heads")
    sql(store, "DELETE FROM audit_checkpoints")
    assert verify(store).ok  # the store alone can no longer tell
    # ...is found out by the copy kept elsewhere, naming the record.
    report = verify(store, exported=exported)
    problems = {(f.stream, f.position, f.seq) for f in report.findings}
    assert ("fleet", 5, None) in problems
    assert ("(checkpoints)", None, 1) in problems


def test_an_altered_checkpoint_fails_its_signature(store: Store) -> None:
    checkpoint(filled(store))
    sql(store, "UPDATE audit_checkpoints SET records = records - 1")
    problems = [f.describe() for f in verify(store).findings]
    assert any("signature does not match" in p for p in problems), problems
