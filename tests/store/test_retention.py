"""Retention on a real store (SQLite and PostgreSQL): a purge removes only what its policy says,
keeps what a legal hold protects, is audited, and leaves an audit trail that still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from models.audit import CheckpointExport
from models.facts import ArchiveTranscript
from models.interaction import Sender, TranscriptEntry
from models.retention import DataClass, PurgeBatch, PurgeRecord, RetentionPolicy, RetentionRule
from store import Store
from store.audit_checkpoints import export_checkpoints, stored_public_keys, take_checkpoint
from store.audit_verify import verify_trail
from store.retention import RetentionStore
from tests.audit_keys import TEST_AUDIT_KEYS, TEST_SIGNING_KEY
from tests.store.builders import make_events, make_record
from tests.store.test_audit_verify import TRUSTED

NOW = datetime(2025, 6, 1, tzinfo=UTC)
OLD = "2025-01-01T10:00:00+00:00"  # 151 days before NOW
NEW = "2025-05-25T10:00:00+00:00"


def close(store: Store, interaction_id: str, region: str, started: str) -> None:
    ended = (datetime.fromisoformat(started) + timedelta(minutes=5)).isoformat()
    record = make_record(interaction_id, region=region, started_at=started, ended_at=ended)
    entry = TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text="hello", at=started)
    store.archive_transcript(
        ArchiveTranscript(interaction_id=interaction_id, run_index=0, entries=[entry])
    )
    assert store.record_interaction(record.model_copy(update={"transcript": [entry]}))


def purge_all(retention: RetentionStore) -> dict[tuple[str, str], int]:
    plan = retention.plan(NOW)
    done = {}
    for step in plan.steps:
        total = 0
        while True:
            batch = PurgeBatch(step=step, limit=2, audit_anchor=plan.audit_anchor)
            count = retention.purge_batch(batch).deleted
            total += count
            if count < batch.limit:
                break
        done[(step.data_class.value, step.region)] = total
    return done


def policy(*rules: tuple[DataClass, int, str]) -> RetentionPolicy:
    return RetentionPolicy(
        rules=[RetentionRule(data_class=c, keep_days=d, region=r) for c, d, r in rules]
    )


def test_a_purge_removes_only_what_its_policy_says_and_honours_holds(store: Store) -> None:
    for iid, region, started in [
        ("eu-old", "eu", OLD),
        ("eu-held", "eu", OLD),
        ("eu-new", "eu", NEW),
        ("us-old", "us", OLD),
    ]:
        close(store, iid, region, started)
    retention = RetentionStore(store)
    retention.save_policy(
        policy(
            (DataClass.TRANSCRIPTS, 30, "eu"),
            (DataClass.FACTS, 30, "eu"),
            (DataClass.ARCHIVES, 30, "eu"),
            (DataClass.FACTS, 365, "*"),
        ),
        "dpo@example.com",
    )
    hold = retention.set_hold("eu-held", "Litigation 4711, call +44 20 7946 0958", "legal")
    assert "+44" not in hold.reason  # free text is redacted before it is stored

    plan = retention.plan(NOW)
    counts = {(s.data_class.value, s.region): retention.count(s) for s in plan.steps}
    assert {k: (c.deleted, c.held) for k, c in counts.items()} == {
        ("transcripts", "eu"): (1, 1),
        ("facts", "eu"): (1, 1),
        ("archives", "eu"): (1, 1),
        ("facts", "*"): (0, 0),
    }
    assert purge_all(retention) == {k: c.deleted for k, c in counts.items()}

    assert store.get_facts("eu-old") is None and store.interaction_archive("eu-old") is None
    assert store.archived_transcript("eu-old") == []
    for kept in ("eu-held", "eu-new", "us-old"):
        assert store.get_facts(kept) is not None
        assert store.interaction_archive(kept) is not None
        assert store.archived_transcript(kept) != []

    retention.release_hold(hold.id, "legal")
    assert retention.count(plan.steps[0]).deleted == 1  # the released one follows the policy
    kinds = [e.kind for e in store.audit_trail("retention")]
    assert kinds == ["retention_policy_saved", "legal_hold_set", "legal_hold_released"]
    assert verify_trail(store.engine, TEST_AUDIT_KEYS, TRUSTED).ok


def test_audit_segments_are_purged_behind_a_checkpoint_anchor_and_still_verify(
    store: Store,
) -> None:
    close(store, "old-1", "us", OLD)
    close(store, "held-1", "us", OLD)
    store.append_audit(make_events("fleet", 4))
    info = store.session_info
    assert take_checkpoint(store.engine, TEST_SIGNING_KEY, NOW - timedelta(days=200), info)
    store.append_audit(make_events("fleet", 6))  # the fleet stream goes on after the anchor
    close(store, "new-1", "us", NEW)
    assert take_checkpoint(store.engine, TEST_SIGNING_KEY, NOW - timedelta(days=1), info)
    with Session(store.engine) as session:
        kept_elsewhere = CheckpointExport(
            public_keys=stored_public_keys(session), checkpoints=export_checkpoints(session)
        )
    retention = RetentionStore(store)
    retention.save_policy(policy((DataClass.AUDIT, 90, "*")), "dpo")
    retention.set_hold("held-1", "case", "legal")

    plan = retention.plan(NOW)
    assert plan.audit_anchor == 1
    expected = retention.count(plan.steps[0], plan.audit_anchor)
    assert retention.compact_audit(1, "run-1")
    assert not retention.compact_audit(1, "run-1")  # once per run
    assert verify_trail(store.engine, TEST_AUDIT_KEYS, TRUSTED).ok  # nothing deleted yet
    assert purge_all(retention) == {("audit", "*"): expected.deleted}

    assert store.audit_trail("interaction-old-1") == []
    assert len(store.audit_trail("interaction-held-1")) == 4  # held: kept whole
    assert [e.seq for e in store.audit_trail("fleet")] == [5, 6]  # anchored at position 4
    report = verify_trail(store.engine, TEST_AUDIT_KEYS, TRUSTED, exported=kept_elsewhere)
    assert report.ok, report.findings

    # Moving the anchor (to hide a deletion) breaks its MAC.
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_anchors SET position = 3 WHERE stream = 'fleet'"))
    problems = [f.describe() for f in verify_trail(store.engine, TEST_AUDIT_KEYS, TRUSTED).findings]
    assert any("retention anchor does not match its MAC" in p for p in problems), problems


def test_each_purge_run_is_audited_once(store: Store) -> None:
    retention = RetentionStore(store)
    record = PurgeRecord(run_id="run-7", plan=retention.plan(NOW), counts=[])
    assert retention.record_purge(record)
    assert not retention.record_purge(record)
    purged = [e for e in store.audit_trail("retention") if e.kind == "purged"]
    assert len(purged) == 1 and purged[0].payload["run_id"] == "run-7"
