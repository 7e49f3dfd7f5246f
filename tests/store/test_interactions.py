"""Interaction facts: one atomic, idempotent write of the facts and their audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from store import Store
from tests.store.builders import make_events, make_facts, make_record


def test_record_once_then_retries_are_no_ops(store: Store) -> None:
    record = make_record("i-1", events=3)
    assert store.record_interaction(record) is True
    assert store.get_facts("i-1") == record.facts
    assert store.count_facts() == 1

    retried = record.model_copy(update={"audit": make_events("interaction-i-1", 5)})
    assert store.record_interaction(record) is False
    assert store.record_interaction(retried) is False  # nothing written, not even new events

    assert store.count_facts() == 1
    trail = store.audit_trail("interaction-i-1")
    assert [e.seq for e in trail] == [1, 2, 3, 4]
    assert trail[-1].kind == "archived"  # the closing archive's digest, chained
    assert [e.payload for e in trail[:-1]] == [e.payload for e in record.audit]
    assert store.verify_audit("interaction-i-1") == (True, None)


def test_unknown_interaction_has_no_facts(store: Store) -> None:
    assert store.get_facts("missing") is None
    assert store.count_facts() == 0


def test_optional_fields_round_trip(store: Store) -> None:
    facts = make_facts(
        "i-2",
        escalation_trigger="sentiment",
        model_version="bot@2",
        csat=4,
        reservation_released=True,
        saved_wait_seconds=12.5,
        started_at="2025-01-01T10:00:00Z",
    )
    assert store.record_interaction(make_record("i-2").model_copy(update={"facts": facts}))
    assert store.get_facts("i-2") == facts


def test_batch_records_each_interaction_once(store: Store) -> None:
    assert store.record_interaction(make_record("b-2"))
    batch = [make_record("b-3"), make_record("b-2"), make_record("b-1"), make_record("b-3")]
    assert store.record_interactions(batch) == [True, False, True, False]
    assert store.record_interactions([]) == []
    assert store.count_facts() == 3
    for stream in ("interaction-b-1", "interaction-b-2", "interaction-b-3"):
        assert len(store.audit_trail(stream)) == 4
        assert store.verify_audit(stream) == (True, None)


def test_concurrent_records_of_different_interactions(store: Store) -> None:
    ids = [f"c-{n:02d}" for n in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: store.record_interaction(make_record(i, 4)), ids))
    assert all(results)
    assert store.count_facts() == len(ids)
    for interaction_id in ids:
        assert store.verify_audit(f"interaction-{interaction_id}") == (True, None)


def test_concurrent_retries_of_one_interaction_write_once(store: Store) -> None:
    record = make_record("same", events=4)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.record_interaction(record), range(8)))
    assert results.count(True) == 1
    assert store.count_facts() == 1
    assert [e.seq for e in store.audit_trail("interaction-same")] == [1, 2, 3, 4, 5]
