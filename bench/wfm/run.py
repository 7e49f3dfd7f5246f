"""WFM benchmark: facts -> intervals for 1,000,000 interactions on SQLite and PostgreSQL, export
time, and cause -> signed webhook received latency.

Facts are generated in the database (one INSERT ... SELECT over a generated series), spread over
two weeks, 5 queues x 4 channels x 12 intents x 3 pools, so the rollup works on realistic
groups. The rollup is the product's (``IntervalStore.rollup``, full). The export renders the
generic layout for the busiest week. Webhook latency: events are committed to the outbox the
way the product commits them (a fleet event's transaction; a breaker transition's compare-and-
set) while the real event pump runs, and a receiver built on ``standardwebhooks`` verifies each;
latency is from the commit to the verified receipt. Goals: rollup <= 60 s each, p95 <= 1 s.

Run: ``python -m bench.wfm.run [--facts 1000000] [--events 60] [--skip-postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from models.facts import AuditEvent
from models.health import WFM_EVENTS_STREAM
from runtime.wfm_events import PumpConfig, WfmEventPump
from simulators.server import serve_app
from store.health import BreakerChange, HealthStore, OutboxItem, SharedBreaker
from store.intervals import IntervalStore, to_record
from store.repository import Store
from store.wfm_events import WfmEventStore
from tests.wfm_receiver import Receiver
from warmline.wfm_events import CAPACITY_CHANGED, cloud_event
from warmline.wfm_export import render

BASE = datetime(2026, 3, 2, tzinfo=UTC)
SPAN_SECONDS = 14 * 86400
POSTGRES_URL = os.environ.get(
    "WARMLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _columns(n: str, started: str, recorded: str) -> str:
    """One fact per ``n``: deterministic arithmetic stands in for randomness."""
    pool = (
        f"CASE {n} % 3 WHEN 0 THEN 'ai_contained' WHEN 1 THEN 'ai_assisted' ELSE 'human_only' END"
    )
    outcome = (
        f"CASE {n} % 3 WHEN 0 THEN 'contained' WHEN 1 THEN "
        f"(CASE WHEN {n} % 11 = 0 THEN 'abandoned' ELSE 'escalated' END) ELSE "
        f"(CASE WHEN {n} % 13 = 0 THEN 'deflected' WHEN {n} % 17 = 0 THEN 'callback' "
        "ELSE 'human_only' END) END"
    )
    return f"""
        'b-' || {n}, 'interaction-b-' || {n},
        CASE {n} % 4 WHEN 0 THEN 'chat' WHEN 1 THEN 'voice' WHEN 2 THEN 'email' ELSE 'social' END,
        'chat', 'standard', 'en', 'us', 'intent_' || ({n} * 7 % 12), 0.9, 'pre_acd',
        CASE {n} % 3 WHEN 2 THEN 'human' ELSE 'ai' END, {pool}, {outcome},
        CASE {n} % 3 WHEN 1 THEN 'sentiment' ELSE NULL END, NULL, 'clf', 1, NULL,
        'queue_' || ({n} * 3 % 5), NULL, 'queue_' || ({n} * 3 % 5), '', '', 3,
        CASE {n} % 3 WHEN 2 THEN 0 ELSE 20 + {n} * 13 % 400 END,
        CASE {n} % 3 WHEN 0 THEN 0 ELSE {n} * 17 % 240 END,
        CASE {n} % 3 WHEN 0 THEN 0 ELSE 60 + {n} * 29 % 1500 END,
        300, CASE {n} % 3 WHEN 1 THEN 300 ELSE 0 END, 2, 0, 800, 500, 300, 120, 0.0021,
        CASE WHEN {n} % 5 = 0 THEN 1 + {n} % 5 ELSE NULL END, false, 0, 0,
        {started}, {recorded}"""


FACT_COLUMNS = (
    "interaction_id, workflow_id, channel, initial_channel, segment, language, region, intent, "
    "confidence, pattern, route, pool, outcome, escalation_trigger, model_version, "
    "classifier_version, config_version, ai_endpoint, human_queue, human_agent, queue, "
    "started_at, ended_at, turns, ai_seconds, queue_seconds, human_seconds, total_seconds, "
    "after_transfer_seconds, ai_calls, ai_failures, ai_latency_ms_total, ai_latency_ms_max, "
    "prompt_tokens, completion_tokens, cost_usd, csat, reservation_released, "
    "saved_wait_seconds, channel_switches, started_at_utc, recorded_at_utc"
)


def generate_facts(store: Store, count: int) -> float:
    started = time.perf_counter()
    base = int(BASE.timestamp())
    step = SPAN_SECONDS / count
    if store.engine.dialect.name == "sqlite":
        moment = f"strftime('%Y-%m-%d %H:%M:%f', {base} + n * {step}, 'unixepoch')"
        sql = (
            f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq "
            f"WHERE n < {count - 1}) INSERT INTO interaction_facts ({FACT_COLUMNS}) "
            f"SELECT {_columns('n', moment, moment)} FROM seq"
        )
    else:
        moment = f"to_timestamp({base} + n * {step})"
        sql = (
            f"INSERT INTO interaction_facts ({FACT_COLUMNS}) "
            f"SELECT {_columns('n', moment, moment)} FROM generate_series(0, {count - 1}) AS n"
        )
    with store.engine.begin() as conn:
        conn.execute(text(sql))
    return time.perf_counter() - started


@contextmanager
def postgres_store() -> Iterator[Store]:
    schema = f"wl_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    store = Store.from_url(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def rollup_bench(store: Store, count: int, label: str) -> None:
    intervals = IntervalStore(store.engine)
    intervals.init_schema()
    generated = generate_facts(store, count)
    result = intervals.rollup(15, full=True)
    started = time.perf_counter()
    records = [to_record(r) for r in intervals.rows(15, BASE, BASE + timedelta(days=7))]
    text_out = render("generic", records, ZoneInfo("Europe/Berlin"))
    exported = time.perf_counter() - started
    print(
        f"{label:10} {count:>9,} facts generated in {generated:6.1f} s; facts -> intervals "
        f"{result.seconds:6.1f} s ({result.intervals:,} intervals, {result.rows:,} rows); "
        f"export 7 days generic {exported:5.2f} s ({len(records):,} rows, "
        f"{len(text_out) / 1e6:.1f} MB)"
    )


def _capacity_change(n: int, url: str) -> BreakerChange:
    event_id = f"bench-capacity-{n}"
    envelope = cloud_event(
        event_type=CAPACITY_CHANGED,
        event_id=event_id,
        source="bench",
        occurred_at=time.time(),
        data={"endpoint": "bench:1", "to_state": "open" if n % 2 == 0 else "closed"},
        subject="bench:1",
    )
    breaker = SharedBreaker("bench", "1", state="open" if n % 2 == 0 else "closed", revision=n)
    return BreakerChange(breaker, [], [OutboxItem(event_id, url, envelope)])


async def webhook_bench(events: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wfm-bench-"))
    store = Store.from_url(f"sqlite:///{folder / 'warmline.db'}")
    health = HealthStore(store)
    health.init_schema()
    receiver = Receiver(secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode())
    committed: dict[str, float] = {}
    async with serve_app(receiver.app()) as base_url:
        url = f"{base_url}/hook"
        pump = WfmEventPump(
            store, PumpConfig(webhook_url=url, webhook_secret=receiver.secret), "bench"
        )
        task = asyncio.create_task(pump.run())
        fleet = WfmEventStore(store, "bench")
        try:
            for n in range(events):
                if n % 2:
                    key = f"bench-failover-{n}"
                    audit = AuditEvent(
                        stream=WFM_EVENTS_STREAM,
                        seq=0,
                        kind="ai_failover_to_human",
                        at=datetime.now(UTC).isoformat(),
                        payload={"key": key, "agents": ["bench"]},
                    )
                    await asyncio.to_thread(fleet.record_fleet_event, audit, key, url)
                else:
                    key = f"bench-capacity-{n}"
                    change = _capacity_change(n, url)

                    def decide(_: SharedBreaker | None, c: BreakerChange = change) -> BreakerChange:
                        return c

                    await asyncio.to_thread(health.update_breaker, "bench", "1", decide)
                committed[key] = time.time()
                await asyncio.sleep(0.05)
            deadline = time.monotonic() + 30
            while len(receiver.processed) < events and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    latencies = sorted(
        receiver.processed[k]["_received_at"] - at
        for k, at in committed.items()
        if k in receiver.processed
    )
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(
        f"webhooks   {len(latencies)}/{events} events verified (standardwebhooks), duplicates "
        f"{receiver.duplicates()}, refused {receiver.refused}; cause -> signed webhook received "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
        f"(goal p95 <= 1000 ms)"
    )
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wfm.run")
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wfm-bench-") as folder:
        store = Store.from_url(f"sqlite:///{Path(folder) / 'warmline.db'}")
        rollup_bench(store, args.facts, "SQLite")
        store.close()
    if not args.skip_postgres:
        with postgres_store() as store:
            rollup_bench(store, args.facts, "PostgreSQL")
    asyncio.run(webhook_bench(args.events))


if __name__ == "__main__":
    main()
