"""What the keyed audit chain costs, and how fast ``warmline audit verify`` checks it.

* Appending: single-turn interactions per second (``bench/throughput``'s path: classify, route,
  AI reply, closing write) with the chain appends on and switched off, alternating rounds in one
  run on one dev server; and, more precisely, the closing write alone (batches of 64 records of
  ~10 audit records each, as the recorder writes them) with and without the appends, whose
  difference is then put against the interaction rate. Goal: <= 5%.
* Verifying: 1,000,000 audit records (100,000 streams of 10, keyed, checkpointed every 100,000)
  generated directly in a SQLite file (or ``--postgres URL``), then ``verify_trail`` over all
  of them, checkpoints included. Goal: <= 60 s.

Run: ``python -m bench.audit.run [--records 1000000] [--interactions 200] [--postgres URL]
[--verify-only]``.
Figures from a loaded machine are noisy; the closing-write figure is the steadier of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

import store.repository as repository
from bench.throughput.run import interaction_bench, interaction_rate
from models.facts import AuditEvent, InteractionFacts, RecordInteraction
from models.interaction import Sender, TranscriptEntry
from runtime.audit_keys import AUDIT_KEY_BYTES
from store.audit_checkpoints import take_checkpoint
from store.audit_verify import verify_trail
from store.repository import Store
from store.tables import AuditEventRow
from warmline.audit import GENESIS_HASH, AuditKeyRing, canonical_json, link_text
from warmline.audit_checkpoint import key_fingerprint, public_key_bytes
from workers.interaction import RECORD_BATCH, interaction_worker

KEYS = AuditKeyRing({"bench-2": b"\x02" * AUDIT_KEY_BYTES, "bench-1": b"\x01" * AUDIT_KEY_BYTES})
SIGNING_KEY = b"\x07" * 32
EVENTS_PER_INTERACTION = 10
ROUNDS = 3


@contextmanager
def chain_appends_off() -> Iterator[None]:
    """The closing write as it was without an audit chain: facts, archive, supervision only."""
    original = repository.append_events
    repository.append_events = lambda session, events: []
    try:
        yield
    finally:
        repository.append_events = original


def closing_record(n: int) -> RecordInteraction:
    """A realistic closing record: facts, ~10 audit records with reasons, a short transcript."""
    iid = f"bench-{n}"
    at = "2025-01-01T10:00:00+00:00"
    reasons = ["intent order_status confidence 0.97 >= ai_min 0.92", "AI endpoint care-bot chosen"]
    audit = [
        AuditEvent(
            stream=f"interaction-{iid}",
            seq=seq,
            kind="routing_decision" if seq == 1 else "ai_response",
            at=at,
            payload={"turn": seq, "model_version": "2026.10", "reasons": reasons},
        )
        for seq in range(1, EVENTS_PER_INTERACTION)
    ]
    turns = [
        TranscriptEntry(turn=t, sender=s, text="Where is my order 4711?", at=at)
        for t in (1, 2, 3)
        for s in (Sender.CUSTOMER, Sender.AI)
    ]
    decision: dict[str, Any] = {"kind": "routing", "route": "ai", "reasons": reasons}
    facts = InteractionFacts(
        interaction_id=iid, workflow_id=f"interaction-{iid}", channel="chat",
        initial_channel="chat", segment="standard", language="en", region="us",
        intent="order_status", confidence=0.97, pattern="pre_acd", route="ai",
        pool="ai_contained", outcome="contained", classifier_version="clf", config_version=1,
        started_at=at, ended_at=at, turns=3,
    )  # fmt: skip
    return RecordInteraction(facts=facts, audit=audit, transcript=turns, decisions=[decision])


def closing_write_seconds(store: Store, records: list[RecordInteraction]) -> float:
    started = time.perf_counter()
    for i in range(0, len(records), RECORD_BATCH):
        store.record_interactions(records[i : i + RECORD_BATCH])
    return time.perf_counter() - started


def _closing_write(count: int, appends: bool, offset: int) -> float:
    data = Path(tempfile.mkdtemp(prefix="warmline-bench-audit-"))
    store = Store.from_url(f"sqlite:///{data / 'w.db'}", audit_keys=KEYS)
    records = [closing_record(offset + i) for i in range(count)]
    try:
        if appends:
            return closing_write_seconds(store, records) / count
        with chain_appends_off():
            return closing_write_seconds(store, records) / count
    finally:
        store.close()


def closing_write_cost(count: int) -> tuple[float, float]:
    """Median seconds per interaction of the closing write, with and without chain appends.

    One discarded warm-up of each arm, then rounds whose order alternates, so neither arm
    pays for cold caches or gains from the machine's load drifting one way.
    """
    _closing_write(RECORD_BATCH, True, 0)
    _closing_write(RECORD_BATCH, False, 0)
    samples: dict[bool, list[float]] = {True: [], False: []}
    for round_no in range(ROUNDS * 2):
        order = (True, False) if round_no % 2 == 0 else (False, True)
        for appends in order:
            samples[appends].append(_closing_write(count, appends, round_no * count))
    return statistics.median(samples[True]), statistics.median(samples[False])


async def end_to_end_rates(count: int, concurrency: int) -> tuple[float, float]:
    """Median interactions/s with and without chain appends, alternating rounds."""
    with_chain, without = [], []
    async with (
        interaction_bench() as bench,
        interaction_worker(bench.client, bench.deps, bench.settings),
    ):
        await interaction_rate(bench.client, 20, concurrency)  # warm up
        for _ in range(ROUNDS):
            with_chain.append(await interaction_rate(bench.client, count, concurrency))
            with chain_appends_off():
                without.append(await interaction_rate(bench.client, count, concurrency))
    return statistics.median(with_chain), statistics.median(without)


def generate_trail(store: Store, records: int, per_stream: int = 10) -> None:
    """``records`` keyed audit rows written straight into the table, checkpointed as they go."""
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    checkpoint_every = max(records // 10, 1)
    rows: list[dict[str, Any]] = []
    written = 0
    for stream_no in range(records // per_stream):
        stream, prev = f"interaction-gen-{stream_no:07d}", GENESIS_HASH
        for seq in range(1, per_stream + 1):
            payload = canonical_json({"turn": seq, "model_version": "2026.10", "n": stream_no})
            at = "2025-01-01T10:00:00+00:00"
            text = link_text(prev, stream, seq, "ai_response", at, "warmline", payload)
            key_id, link = KEYS.sign(text)
            rows.append(
                {
                    "stream": stream,
                    "seq": seq,
                    "position": seq,
                    "kind": "ai_response",
                    "at": at,
                    "actor": "warmline",
                    "payload": payload,
                    "prev_hash": prev,
                    "hash": link,
                    "key_id": key_id,
                }
            )
            prev = link
        written += per_stream
        due = written % checkpoint_every == 0
        if rows and (len(rows) >= 20_000 or written == records or due):
            with store.engine.begin() as conn:
                conn.execute(insert(table), rows)
            rows = []
        if due:
            take_checkpoint(store.engine, SIGNING_KEY, datetime.now(UTC), store.session_info)


def verify_figures(records: int, url: str | None) -> None:
    data = Path(tempfile.mkdtemp(prefix="warmline-bench-verify-"))
    store = Store.from_url(url or f"sqlite:///{data / 'audit.db'}", audit_keys=KEYS)
    started = time.perf_counter()
    generate_trail(store, records)
    generated = time.perf_counter() - started
    public = public_key_bytes(SIGNING_KEY)
    report = verify_trail(store.engine, KEYS, {key_fingerprint(public): public})
    backend = store.engine.dialect.name
    store.close()
    print(
        f"audit verify ({backend}; {records:,} records generated in {generated:.1f}s):", flush=True
    )
    print(f"  records checked            : {report.records:,} in {report.streams:,} streams")
    print(f"  checkpoints checked        : {report.checkpoints}")
    print(f"  verdict                    : {'ok' if report.ok else report.findings[0].describe()}")
    print(
        f"  seconds                    : {report.seconds:8.1f}  "
        f"({report.records / report.seconds:,.0f} records/s; goal <= 60 s)"
    )


async def main(
    records: int, interactions: int, concurrency: int, postgres: str | None, verify_only: bool
) -> None:
    if verify_only:
        verify_figures(records, postgres)
        return
    per_with, per_without = closing_write_cost(interactions * 5)
    print("appending to the keyed chain (medians of alternating rounds):", flush=True)
    print(f"  closing write, chain on    : {per_with * 1000:8.3f} ms/interaction")
    print(f"  closing write, chain off   : {per_without * 1000:8.3f} ms/interaction", flush=True)
    verify_figures(records, postgres)
    rate_with, rate_without = await end_to_end_rates(interactions, concurrency)
    delta = per_with - per_without
    print(
        f"  chain share of the interaction rate: {delta * rate_with:8.2%}  "
        f"(= {delta * 1000:.3f} ms x {rate_with:.1f}/s; goal <= 5%)"
    )
    print(f"  single-turn interactions, chain on : {rate_with:8.1f}/s")
    print(f"  single-turn interactions, chain off: {rate_without:8.1f}/s")
    print(f"  end-to-end difference              : {1 - rate_with / rate_without:8.2%}  (noisy)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--postgres", default=None, help="Verify on this PostgreSQL URL.")
    parser.add_argument("--verify-only", action="store_true", help="Only the verify figures.")
    args = parser.parse_args()
    asyncio.run(
        main(args.records, args.interactions, args.concurrency, args.postgres, args.verify_only)
    )
