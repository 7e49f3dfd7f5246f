"""Python CPU of the closing-record write (``Store.record_interactions``) per record.

The interaction worker is GIL-bound, so what counts is the CPU this process spends, not the
wall time (PostgreSQL's own work runs in its server process). Records look like a single-run
AI interaction at close: ten audit records, a six-entry transcript, two routing decisions and
supervision facts; every fourth record also carries a review and an override. Also measured:
a retried batch (everything already stored), ``AbuseStore.increment_many`` per event and
``Store.archived_transcript``.

Run: ``python -m bench.store_writes [--records 400] [--no-postgres]``. PostgreSQL comes from
``$WARMLINE_TEST_POSTGRES_URL`` (default: local ``test`` database), in a throwaway schema.
To compare with another revision, run this file with ``PYTHONPATH`` pointing at that tree.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from models.abuse import CounterKey
from models.facts import ArchiveTranscript, AuditEvent, RecordInteraction
from models.interaction import Sender, TranscriptEntry
from models.supervision import (
    HumanOverride,
    OverrideKind,
    RecordSupervision,
    ReviewDecision,
    ReviewRecord,
    SupervisionFacts,
    SupervisionMode,
)
from store.abuse import AbuseStore
from store.repository import Store
from tests.store.builders import make_facts
from warmline.audit import AuditKeyRing

KEYS = AuditKeyRing({"bench-1": b"\x01" * 32})
BATCH_SIZES = (1, 8)
START = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def make_record(interaction_id: str) -> RecordInteraction:
    """A closing record shaped like the ones ``warmline.lifecycle.closing`` builds."""
    stream = f"interaction-{interaction_id}"
    at = [(START + timedelta(seconds=s)).isoformat() for s in range(60)]
    audit = [
        AuditEvent(
            stream=stream,
            seq=seq,
            kind="routing_decision" if seq == 1 else "turn",
            at=at[seq],
            payload={"intent": "billing", "reasons": ["confidence 0.95 >= 0.92"], "n": seq},
        )
        for seq in range(1, 11)
    ]
    transcript = [
        TranscriptEntry(
            turn=turn // 2 + 1,
            sender=Sender.CUSTOMER if turn % 2 == 0 else Sender.AI,
            text=f"Message {turn} about the invoice of <NAME_{turn}>, please check it.",
            at=at[turn + 10],
        )
        for turn in range(6)
    ]
    number = int(interaction_id.rsplit("-", 1)[1])
    reviewed = number % 4 == 0
    supervision = RecordSupervision(
        facts=SupervisionFacts(
            interaction_id=interaction_id,
            intent="billing",
            channel="chat",
            mode=SupervisionMode.SEMI_AUTONOMOUS if reviewed else SupervisionMode.FULLY_AUTONOMOUS,
            started_at=START,
            ended_at=START + timedelta(minutes=1),
            drafts_held=1 if reviewed else 0,
            reviews=1 if reviewed else 0,
            triggers=["low_confidence"] if reviewed else [],
        ),
        reviews=[
            ReviewRecord(
                interaction_id=interaction_id,
                draft_id="d-1",
                decision=ReviewDecision.APPROVE,
                reviewer_id="sup-1",
                decided_at=START + timedelta(seconds=20),
                held_since=START + timedelta(seconds=12),
                intent="billing",
                channel="chat",
                mode=SupervisionMode.SEMI_AUTONOMOUS,
                draft_text="Your invoice is fine.",
                sent_text="Your invoice is fine.",
            )
        ]
        if reviewed
        else [],
        overrides=[
            HumanOverride(
                interaction_id=interaction_id,
                seq=1,
                kind=OverrideKind.DRAFT_REPLACED,
                actor="sup-1",
                at=START + timedelta(seconds=20),
                ai_decision="draft",
                human_decision="edited",
            )
        ]
        if reviewed
        else [],
    )
    facts = make_facts(
        interaction_id,
        workflow_id=stream,
        model_version="agent-1",
        ai_endpoint="primary",
        queue="billing",
        started_at=at[0],
        ended_at=at[59],
        ai_seconds=40.0,
        total_seconds=59.0,
        ai_calls=3,
        prompt_tokens=900,
        completion_tokens=120,
        cost_usd=0.0021,
        customer_key="c" * 64,
    )
    return RecordInteraction(
        facts=facts,
        audit=audit,
        supervision=supervision,
        transcript=transcript,
        decisions=[
            {"pattern": "pre_acd", "route": "ai", "reasons": ["confidence 0.95 >= 0.92"]},
            {"kind": "close", "outcome": "contained"},
        ],
    )


def cpu_ms(work: Callable[[], object], repeat: int = 1) -> float:
    start = time.process_time()
    for _ in range(repeat):
        work()
    return (time.process_time() - start) * 1000


def write_all(store: Store, batches: list[list[RecordInteraction]]) -> None:
    for batch in batches:
        store.record_interactions(batch)


def bench_store(label: str, url: str, records: int) -> None:
    store = Store.from_url(url, audit_keys=KEYS)
    abuse = AbuseStore(store.engine)
    try:
        for size in BATCH_SIZES:
            batches = [
                [make_record(f"{label}-{size}-{i + j}") for j in range(size)]
                for i in range(0, records, size)
            ]
            for batch in batches[:2]:  # warm up: connections, compiled statement caches
                store.record_interactions(batch)
            timed = batches[2:]
            count = sum(len(batch) for batch in timed)
            new = cpu_ms(partial(write_all, store, timed)) / count
            again = cpu_ms(partial(write_all, store, timed)) / count
            print(f"{label:8} batch {size}: {new:6.3f} ms/record new, {again:6.3f} retried")
        keys = [
            CounterKey(name=f"{label}:{scope}:{n % 50}", window_start=3600.0, window_seconds=60.0)
            for n in range(records)
            for scope in ("tenant", "customer")
        ]
        events = [keys[i : i + 2] for i in range(0, len(keys), 2)]
        abuse.increment_many(events[:8])
        per_event = cpu_ms(
            lambda: [abuse.increment_many(events[i : i + 4]) for i in range(0, len(events), 4)]
        )
        print(f"{label:8} abuse increment_many: {per_event / len(events):6.3f} ms/event")
        store.archive_transcript(
            ArchiveTranscript(
                interaction_id="archived",
                run_index=0,
                entries=make_record(f"{label}-a-0").transcript,
            )
        )
        reads = 200
        read = cpu_ms(lambda: store.archived_transcript("archived", 1), reads) / reads
        print(f"{label:8} archived_transcript: {read:6.3f} ms/read")
    finally:
        store.close()


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=400, help="records per batch size")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with sqlite_url() as url:
        bench_store("sqlite", url, args.records)
    if not args.no_postgres:
        from tests.pg import postgres_schema

        with postgres_schema(prefix="wl_bench") as url:
            bench_store("postgres", url, args.records)


if __name__ == "__main__":
    main()
