"""Shared fleet health in the store: window flushes, compare-and-set breakers, the outbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import Session

from models.facts import AuditEvent, RecordInteraction
from models.fleet import FLEET_AUDIT_STREAM
from models.health import FLEET_HEALTH_STREAM, WFM_EVENTS_STREAM
from store import Store
from store.health import (
    BreakerChange,
    HealthStore,
    OutboxItem,
    PendingRollback,
    SharedBreaker,
    StreamEvent,
    WindowFlush,
    health_tables,
)
from tests.store.builders import make_facts

NOW = 1_800_000_000.0


@pytest.fixture
def health(store: Store) -> Iterator[HealthStore]:
    repo = HealthStore(store)
    repo.init_schema()
    repo.init_schema()  # idempotent, as every worker calls it at start
    with Session(store.engine) as session:  # PostgreSQL tests share one schema per session
        for table in health_tables():
            session.execute(delete(table))
        session.commit()
    yield repo


def flush(worker: str, revision: int = 0, calls: int = 1, at: float = NOW) -> WindowFlush:
    return WindowFlush(worker, "care-bot", "1", revision, {"calls": calls}, 2, at)


def event(stream: str, kind: str, n: int = 0) -> StreamEvent:
    return StreamEvent(stream, kind, "2027-01-15T08:00:00+00:00", "w1", {"n": n})


def test_each_flush_overwrites_the_workers_own_row(health: HealthStore) -> None:
    health.flush_windows([flush("w1", calls=1)])
    health.flush_windows([flush("w1", calls=5, at=NOW + 1), flush("w2", revision=1, at=NOW + 1)])
    rows = sorted(health.windows(NOW - 10), key=lambda w: w.worker_id)
    assert [(w.worker_id, w.revision, w.aggregate["calls"]) for w in rows] == [
        ("w1", 0, 5),
        ("w2", 1, 1),
    ]
    health.flush_windows([])  # nothing to write is not an error


def test_stale_windows_leave_the_merge_and_are_pruned(health: HealthStore) -> None:
    health.flush_windows([flush("dead", at=NOW - 60), flush("alive", at=NOW)])
    assert [w.worker_id for w in health.windows(NOW - 5)] == ["alive"]
    assert health.prune_windows(NOW - 30) == 1
    assert [w.worker_id for w in health.windows(0)] == ["alive"]


def test_a_breaker_change_commits_with_its_events_and_outbox(health: HealthStore) -> None:
    def open_it(current: SharedBreaker | None) -> BreakerChange:
        assert current is None
        row = SharedBreaker("care-bot", "1", state="open", revision=1, since=NOW, reasons=["x"])
        return BreakerChange(
            row,
            [
                event(FLEET_HEALTH_STREAM, "breaker_transition"),
                event(WFM_EVENTS_STREAM, "wfm_capacity_event"),
            ],
            [OutboxItem("e1", "http://wfm/hook", {"event_id": "e1"})],
        )

    written = health.update_breaker("care-bot", "1", open_it)
    assert written is not None and (written.state, written.row_version) == ("open", 1)
    stored = health.breaker("care-bot", "1")
    assert stored is not None and (stored.state, stored.revision, stored.reasons) == (
        "open",
        1,
        ["x"],
    )
    store = health.store
    assert [e.kind for e in store.audit_trail(FLEET_HEALTH_STREAM)] == ["breaker_transition"]
    assert [e.kind for e in store.audit_trail(WFM_EVENTS_STREAM)] == ["wfm_capacity_event"]
    assert store.verify_audit(FLEET_HEALTH_STREAM) == (True, None)
    assert [(o["event_id"], o["delivered"]) for o in health.outbox()] == [("e1", False)]
    assert health.update_breaker("care-bot", "1", lambda current: None) is None


def test_a_failed_decision_writes_nothing(health: HealthStore) -> None:
    def broken(current: SharedBreaker | None) -> BreakerChange:
        raise RuntimeError("decision failed")

    with pytest.raises(RuntimeError):
        health.update_breaker("care-bot", "1", broken)
    assert health.breakers() == [] and health.store.audit_trail(FLEET_HEALTH_STREAM) == []


def test_concurrent_writers_decide_again_on_the_row_the_other_wrote(health: HealthStore) -> None:
    health.update_breaker("care-bot", "1", lambda c: BreakerChange(SharedBreaker("care-bot", "1")))
    barrier = threading.Barrier(4)
    seen: list[int] = []
    lock = threading.Lock()

    def bump(current: SharedBreaker | None) -> BreakerChange:
        assert current is not None
        with lock:
            seen.append(current.revision)
        row = SharedBreaker("care-bot", "1", state="open", revision=current.revision + 1)
        return BreakerChange(row, [event(FLEET_HEALTH_STREAM, "breaker_transition")])

    def worker() -> None:
        barrier.wait()
        health.update_breaker("care-bot", "1", bump)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = health.breaker("care-bot", "1")
    assert final is not None and final.revision == 4 and final.row_version == 5
    assert len(health.store.audit_trail(FLEET_HEALTH_STREAM)) == 4
    assert health.store.verify_audit(FLEET_HEALTH_STREAM) == (True, None)


def test_reset_closes_every_breaker_and_forgets_windows(health: HealthStore) -> None:
    row = SharedBreaker("care-bot", "1", state="open", revision=3, probe_owner="w1")
    health.update_breaker("care-bot", "1", lambda c: BreakerChange(row))
    health.update_breaker("billing", "2", lambda c: BreakerChange(SharedBreaker("billing", "2")))
    health.flush_windows([flush("w1")])
    assert health.reset_all(NOW, "ops", "maintenance done", FLEET_HEALTH_STREAM) == 2
    states = {(b.name, b.state, b.revision, b.probe_owner) for b in health.breakers()}
    assert states == {("care-bot", "closed", 4, None), ("billing", "closed", 1, None)}
    assert health.windows(0) == []
    trail = health.store.audit_trail(FLEET_HEALTH_STREAM)
    assert [(e.kind, e.payload["endpoint"]) for e in trail] == [("breaker_reset", "care-bot:1")]


def test_human_load_reads_recent_human_work_from_the_facts(health: HealthStore) -> None:
    now = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)

    def at(minutes: float) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    rows = [
        make_facts("h1", pool="human_only", human_seconds=300.0, started_at=at(5)),
        make_facts("h2", pool="ai_assisted", human_seconds=500.0, started_at=at(9)),
        make_facts("a1", pool="ai_contained", started_at=at(2)),
        make_facts("old", pool="human_only", human_seconds=900.0, started_at=at(180)),
    ]
    health.store.record_interactions([RecordInteraction(facts=f) for f in rows])
    volume, aht = health.human_load(now, timedelta(minutes=15))
    assert volume == 2.0 and aht == pytest.approx(400.0)
    assert health.human_load(now + timedelta(days=1), timedelta(minutes=15)) == (0.0, None)


def test_outbox_claims_deliveries_and_retries(health: HealthStore) -> None:
    for n in (1, 2):
        row = SharedBreaker("care-bot", "1", revision=n)
        item = OutboxItem(f"e{n}", "http://wfm/hook", {"n": n})
        change = BreakerChange(row, [], [item])

        def decide(current: SharedBreaker | None, c: BreakerChange = change) -> BreakerChange:
            return c

        health.update_breaker("care-bot", "1", decide)
    first = health.claim_outbox("w1", NOW, lease=30.0)
    assert [i.event_id for i in first] == ["e1", "e2"]
    assert health.claim_outbox("w2", NOW + 1, lease=30.0) == [], "claimed events are leased"
    health.outbox_delivered("e1")
    health.outbox_failed("e2", "HTTP 503", next_attempt_at=NOW + 2)
    assert health.claim_outbox("w2", NOW + 1, lease=30.0) == []
    retry = health.claim_outbox("w2", NOW + 2, lease=30.0)
    assert [(i.event_id, i.attempts, i.payload) for i in retry] == [("e2", 1, {"n": 2})]
    # A worker that died holding a claim loses it when the lease runs out.
    assert [i.event_id for i in health.claim_outbox("w3", NOW + 33, lease=30.0)] == ["e2"]
    states = {o["event_id"]: (o["delivered"], o["last_error"]) for o in health.outbox()}
    assert states == {"e1": (True, None), "e2": (False, "HTTP 503")}


def opening(
    revision: int = 1, claimed_by: str | None = "w1", until: float = NOW + 30
) -> PendingRollback:
    return PendingRollback("care-bot", "1", "closed", revision, ("3 failures",), claimed_by, until)


def open_with_rollback(health: HealthStore, pending: PendingRollback) -> None:
    row = SharedBreaker("care-bot", "1", state="open", revision=pending.revision)
    change = BreakerChange(row, [event(FLEET_HEALTH_STREAM, "breaker_transition")])
    change.rollbacks = [pending]
    health.update_breaker("care-bot", "1", lambda current: change)


def decision(outcome: str) -> AuditEvent:
    return AuditEvent(
        stream=FLEET_AUDIT_STREAM,
        seq=0,
        kind="auto_rollback",
        at="2027-01-15T08:00:00+00:00",
        actor="w1",
        payload={"outcome": outcome},
    )


def test_an_openings_rollback_commits_with_it_claimed_by_its_worker(health: HealthStore) -> None:
    open_with_rollback(health, opening())
    (row,) = health.rollback_outbox()
    assert (row["opening"], row["claimed_by"], row["claimed_until"]) == (
        "care-bot:1/r1",
        "w1",
        NOW + 30,
    )
    assert not row["done"]
    # The opener holds it: nobody takes it over while the lease runs.
    assert health.claim_rollbacks("w2", NOW + 29, lease=30) == []


def test_a_lapsed_claim_is_taken_over_by_one_worker(health: HealthStore) -> None:
    open_with_rollback(health, opening())
    barrier = threading.Barrier(4)
    claims: list[list[PendingRollback]] = []

    def worker(name: str) -> None:
        barrier.wait()
        claims.append(health.claim_rollbacks(name, NOW + 31, lease=30))

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(2, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (taken,) = [c for c in claims if c]
    (pending,) = taken
    assert pending.opening == "care-bot:1/r1" and pending.reasons == ("3 failures",)
    assert pending.claimed_until == NOW + 61 and pending.attempts == 0
    assert health.claim_rollbacks("w9", NOW + 32, lease=30) == []


def test_a_failed_attempt_waits_for_its_retry_then_any_worker_takes_it(
    health: HealthStore,
) -> None:
    open_with_rollback(health, opening())
    health.rollback_failed("care-bot:1/r1", "Temporal unreachable", next_attempt_at=NOW + 5)
    (row,) = health.rollback_outbox()
    assert (row["attempts"], row["claimed_by"], row["last_error"]) == (
        1,
        None,
        "Temporal unreachable",
    )
    assert health.claim_rollbacks("w2", NOW + 4, lease=30) == []
    (pending,) = health.claim_rollbacks("w2", NOW + 5, lease=30)
    assert (pending.claimed_by, pending.attempts) == ("w2", 1)


def test_deciding_closes_the_row_and_audits_once(health: HealthStore) -> None:
    open_with_rollback(health, opening())
    store = health.store
    assert health.rollback_decided("care-bot:1/r1", "started", decision("started"), "k1")
    (row,) = health.rollback_outbox()
    assert row["done"] and row["outcome"] == "started" and row["claimed_by"] is None
    # A second worker that handled it too (its claim had lapsed) adds nothing.
    assert not health.rollback_decided(
        "care-bot:1/r1", "already_running", decision("already_running"), "k2"
    )
    audited = [e.payload["outcome"] for e in store.audit_trail(FLEET_AUDIT_STREAM)]
    assert audited == ["started"]
    assert health.claim_rollbacks("w2", NOW + 3600, lease=30) == []
    # An opening handed over without a row is audited all the same, once per key.
    assert health.rollback_decided("care-bot:1/r9", "nothing_to_do", decision("x"), "k3")
    health.rollback_decided("care-bot:1/r9", "nothing_to_do", decision("x"), "k3")
    assert len(store.audit_trail(FLEET_AUDIT_STREAM)) == 2
    assert store.verify_audit(FLEET_AUDIT_STREAM) == (True, None)
