"""Fleet-wide abuse counters on SQLite and PostgreSQL: atomic increments, previous windows,
pruning, and the gate throttling one flooding source while others are served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import delete

from models.abuse import (
    AbusePolicy,
    AdmissionRequest,
    CounterKey,
    LimitAnswer,
    LimitRule,
    LimitScope,
    LimitStage,
)
from runtime.abuse_gate import AbuseGate
from runtime.metrics import WarmlineMetrics
from store import Store
from store.abuse import AbuseCounterRow, AbuseStore


@pytest.fixture
def abuse_store(store: Store) -> Iterator[AbuseStore]:
    counters = AbuseStore(store.engine)
    counters.init_schema()
    with store.engine.begin() as conn:  # the PostgreSQL schema is shared by a session's tests
        conn.execute(delete(AbuseCounterRow))
    yield counters


def _key(name: str = "customer:start:t/c", start: float = 960.0) -> CounterKey:
    return CounterKey(name=name, window_start=start, window_seconds=60.0)


def test_increments_count_and_read_the_previous_window(abuse_store: AbuseStore) -> None:
    for _ in range(3):
        abuse_store.increment([_key(start=900.0)])
    [first] = abuse_store.increment([_key()])
    [second] = abuse_store.increment([_key()])
    assert (first.current, first.previous) == (1, 3)
    assert (second.current, second.previous) == (2, 3)


def test_concurrent_increments_lose_nothing(abuse_store: AbuseStore) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        readings = list(pool.map(lambda _: abuse_store.increment([_key()])[0], range(40)))
    assert sorted(r.current for r in readings) == list(range(1, 41))


def test_prune_drops_windows_no_estimate_reads(abuse_store: AbuseStore) -> None:
    abuse_store.increment([_key(start=0.0), _key(start=960.0)])
    assert abuse_store.prune(now=1000.0) == 1  # 0..60 expired at 120; 960..1020 kept
    [reading] = abuse_store.increment([_key(start=960.0)])
    assert reading.current == 2


def test_a_flood_from_one_source_is_throttled_while_others_are_served(
    abuse_store: AbuseStore, store: Store
) -> None:
    policy = AbusePolicy(
        rules=[
            LimitRule(scope=LimitScope.TENANT, stage=LimitStage.START, limit=20, window_seconds=60)
        ],
        repeats=None,
    )
    registry = CollectorRegistry()
    metrics = WarmlineMetrics(registry)
    audited: list[dict[str, Any]] = []

    def audit(stream: str, kind: str, payload: dict[str, Any]) -> None:
        store.append_audit_auto(stream, kind, payload=payload)
        audited.append(payload)

    gate = AbuseGate(abuse_store, lambda: policy, metrics, audit)

    def start(tenant: str, n: int) -> AdmissionRequest:
        return AdmissionRequest(stage=LimitStage.START, customer_id=f"c{n}", tenant=tenant,
                                at=1000.0 + n * 0.01)  # fmt: skip

    with ThreadPoolExecutor(max_workers=6) as pool:
        flood = list(pool.map(lambda n: gate.check(start("bot-farm", n)), range(60)))
    others = [gate.check(start(f"shop-{n}", n)) for n in range(5)]
    answers = [d.answer for d in flood]
    assert answers.count(LimitAnswer.ALLOWED) == 20
    assert answers.count(LimitAnswer.THROTTLED) == 40
    assert all(d.allowed for d in others)
    assert len(audited) == 40 and audited[0]["tenant"] == "bot-farm"
    assert len(store.audit_trail("abuse-limits")) == 40
    hits = registry.get_sample_value(
        "warmline_abuse_limit_hits_total",
        {"rule": "tenant:start", "stage": "start", "answer": "throttled"},
    )
    assert hits == 40


def test_events_counted_in_one_transaction_read_as_if_counted_one_by_one(
    abuse_store: AbuseStore,
) -> None:
    abuse_store.increment([_key(start=900.0), _key("other", start=900.0)])
    readings = abuse_store.increment_many([[_key()], [_key(), _key("other")], [], [_key("other")]])
    assert [[(r.key.name, r.current, r.previous) for r in event] for event in readings] == [
        [("customer:start:t/c", 1, 1)],
        [("customer:start:t/c", 2, 1), ("other", 1, 1)],
        [],
        [("other", 2, 1)],
    ]
    assert abuse_store.increment([_key()])[0].current == 3


async def test_batched_checks_from_two_gates_enforce_one_fleet_wide_limit(
    abuse_store: AbuseStore,
) -> None:
    """Two workers' gates over one store, each batching its concurrent checks: exactly the limit
    gets through, and the batches really held several checks."""
    policy = AbusePolicy(
        rules=[
            LimitRule(scope=LimitScope.TENANT, stage=LimitStage.TURN, limit=30, window_seconds=60)
        ],
        repeats=None,
    )
    gates = [AbuseGate(abuse_store, lambda: policy), AbuseGate(abuse_store, lambda: policy)]

    def turn(n: int) -> AdmissionRequest:
        return AdmissionRequest(stage=LimitStage.TURN, customer_id=f"c{n}", tenant="t",
                                at=1000.0 + n * 0.001)  # fmt: skip

    try:
        decisions = await asyncio.gather(*(gates[n % 2].check_async(turn(n)) for n in range(80)))
    finally:
        for gate in gates:
            await asyncio.to_thread(gate.close)
    assert [d.allowed for d in decisions].count(True) == 30
    assert sum(g.batcher.items for g in gates) == 80
    assert sum(g.batcher.passes for g in gates) < 80


def test_previous_windows_of_more_keys_than_one_read_takes_are_all_read(
    abuse_store: AbuseStore,
) -> None:
    keys = [_key(f"customer:start:t/c-{n}") for n in range(450)]  # three reads of previous counts
    abuse_store.increment([_key(key.name, start=900.0) for key in keys[::2]])
    readings = abuse_store.increment(keys)
    assert [(r.current, r.previous) for r in readings] == [(1, 1 - n % 2) for n in range(450)]


def test_concurrent_batches_counting_one_key_several_times_read_consecutive_counts(
    abuse_store: AbuseStore,
) -> None:
    def count(_: int) -> list[int]:
        readings = abuse_store.increment_many([[_key()], [_key("other"), _key()], [_key()]])
        return [event[-1].current for event in readings]

    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(count, range(16)))
    assert all(b == [b[0], b[0] + 1, b[0] + 2] for b in batches)
    assert sorted(n for b in batches for n in b) == list(range(1, 49))
