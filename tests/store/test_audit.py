"""Audit streams: producer-numbered and store-numbered appends, and tamper detection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from sqlalchemy import text

from store import Store
from tests.audit_keys import TEST_AUDIT_KEYS
from tests.store.builders import make_events, make_record
from warmline.audit import GENESIS_HASH, canonical_json


def test_append_skips_events_already_stored(store: Store) -> None:
    events = make_events("fleet", 3)
    assert store.append_audit(events) == 3
    assert store.append_audit(events) == 0
    assert store.append_audit(make_events("fleet", 4)) == 1  # 1..3 known, 4 new
    assert store.append_audit([]) == 0
    trail = store.audit_trail("fleet")
    assert [(e.seq, e.position) for e in trail] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert trail[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in pairwise(trail))
    first = trail[0]
    body = first.model_dump(include={"stream", "seq", "kind", "at", "actor", "payload"})
    assert first.key_id == TEST_AUDIT_KEYS.signing_key_id
    expected = TEST_AUDIT_KEYS.mac(first.key_id, GENESIS_HASH + canonical_json(body))
    assert first.hash == expected
    assert store.verify_audit("fleet") == (True, None)


def test_streams_are_separate_chains(store: Store) -> None:
    store.append_audit(make_events("a", 2) + make_events("b", 2))
    assert store.audit_trail("a")[0].prev_hash == GENESIS_HASH
    assert store.audit_trail("b")[0].prev_hash == GENESIS_HASH
    assert store.audit_trail("missing") == []
    assert store.verify_audit("missing") == (True, None)


def test_late_event_is_chained_after_the_tail(store: Store) -> None:
    store.append_audit([make_events("fleet", 1, start=2)[0]])
    assert store.append_audit(make_events("fleet", 2)) == 1  # seq 1 arrives late
    assert [(e.seq, e.position) for e in store.audit_trail("fleet")] == [(2, 1), (1, 2)]
    assert store.verify_audit("fleet") == (True, None)


def test_record_interaction_continues_an_existing_stream(store: Store) -> None:
    store.append_audit(make_events("interaction-i-1", 2))
    assert store.record_interaction(make_record("i-1", events=4))
    assert [e.seq for e in store.audit_trail("interaction-i-1")] == [1, 2, 3, 4, 5]
    assert store.verify_audit("interaction-i-1") == (True, None)


def test_auto_numbered_appends(store: Store) -> None:
    first = store.append_audit_auto("routing-config", "config_saved", "alice", {"version": 1})
    second = store.append_audit_auto("routing-config", "config_saved", payload={"version": 2})
    assert (first.seq, second.seq) == (1, 2)
    assert (first.actor, second.actor) == ("alice", "warmline")
    assert second.prev_hash == first.hash
    assert store.audit_trail("routing-config") == [first, second]


def test_concurrent_auto_appends_form_one_chain(store: Store) -> None:
    def append(n: int) -> int:
        return store.append_audit_auto("routing-config", "config_saved", payload={"n": n}).seq

    with ThreadPoolExecutor(max_workers=8) as pool:
        seqs = list(pool.map(append, range(32)))
    assert sorted(seqs) == list(range(1, 33))
    assert store.verify_audit("routing-config") == (True, None)


def _tamper(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_edited_payload_is_reported_with_its_seq(store: Store) -> None:
    store.append_audit(make_events("fleet", 5))
    _tamper(
        store,
        "UPDATE audit_events SET payload = :p WHERE stream = 'fleet' AND seq = 3",
        p='{"n":3,"reasons":["confidence 0.99 >= 0.92"],"score":1.0}',
    )
    assert store.verify_audit("fleet") == (False, 3)


def test_removed_event_and_broken_json_are_found(store: Store) -> None:
    store.append_audit(make_events("a", 4) + make_events("b", 4))
    _tamper(store, "DELETE FROM audit_events WHERE stream = 'a' AND seq = 2")
    assert store.verify_audit("a") == (False, 3)
    _tamper(store, "UPDATE audit_events SET payload = 'not json' WHERE stream = 'b' AND seq = 4")
    assert store.verify_audit("b") == (False, 4)
