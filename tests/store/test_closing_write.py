"""The closing write of a batch: supervision, reviews, overrides, archives and claims written
once per interaction, in key order, and the same rows on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.facts import ArchiveTranscript, RecordInteraction
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
from store import Store
from store.tables import store_tables
from tests.audit_keys import open_test_store
from tests.store.builders import make_record

START = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def _review(interaction_id: str, draft_id: str, reviewer_id: str = "sup-1") -> ReviewRecord:
    return ReviewRecord(
        interaction_id=interaction_id,
        draft_id=draft_id,
        decision=ReviewDecision.EDIT,
        reviewer_id=reviewer_id,
        decided_at=START + timedelta(seconds=30),
        held_since=START + timedelta(seconds=10),
        intent="billing",
        channel="chat",
        mode=SupervisionMode.SEMI_AUTONOMOUS,
        draft_text=f"draft {draft_id}",
        sent_text=f"sent {draft_id}",
    )


def _override(interaction_id: str, seq: int) -> HumanOverride:
    return HumanOverride(
        interaction_id=interaction_id,
        seq=seq,
        kind=OverrideKind.DRAFT_REPLACED,
        actor="sup-1",
        at=START + timedelta(seconds=seq),
        ai_decision="draft",
        human_decision=f"replaced {seq}",
    )


def _closing(interaction_id: str, drafts: list[str], seqs: list[int]) -> RecordInteraction:
    record = make_record(interaction_id)
    record.transcript = [
        TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text="Où est ma facture ?", at="t1"),
        TranscriptEntry(turn=1, sender=Sender.AI, text="Here it is.", at="t2"),
    ]
    record.decisions = [{"route": "ai", "reasons": ["confidence 0.95 >= 0.92"]}]
    record.supervision = RecordSupervision(
        facts=SupervisionFacts(
            interaction_id=interaction_id,
            intent="billing",
            channel="chat",
            mode=SupervisionMode.SEMI_AUTONOMOUS,
            started_at=START,
            ended_at=START + timedelta(minutes=5),
            drafts_held=len(drafts),
            reviews=len(drafts),
            triggers=["low_confidence"],
        ),
        reviews=[_review(interaction_id, draft) for draft in drafts],
        overrides=[_override(interaction_id, seq) for seq in seqs],
    )
    return record


def _scenario(store: Store) -> list[list[bool]]:
    """A review stored before the close, an earlier run's transcript, claims to release, a
    record repeated inside a batch, and a retried batch."""
    store.record_review(_review("s-2", "d-0", reviewer_id="sup-2"))
    store.archive_transcript(
        ArchiveTranscript(
            interaction_id="s-3", run_index=0, entries=_closing("s-3", [], []).transcript
        )
    )
    for workflow_id, draft_id in (("interaction-s-2", "d-1"), ("interaction-other", "d-1")):
        store.claim_review(workflow_id, draft_id, "sup-1", cap=5, at=START)
    without_supervision = make_record("s-4")
    batch = [
        _closing("s-3", [], [2, 1]),
        _closing("s-2", ["d-2", "d-0", "d-1", "d-2"], [1]),
        without_supervision,
        _closing("s-1", ["d-1"], []),
        _closing("s-2", ["d-9"], [7]),  # the same interaction again: the first one wins
    ]
    return [
        store.record_interactions(batch),
        store.record_interactions([*batch, _closing("s-5", ["d-1"], [1])]),
    ]


def _rows(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every stored row, values as the column types read them (aware UTC datetimes)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for table in store_tables():
            order = list(table.primary_key.columns)
            rows = conn.execute(select(table).order_by(*order)).mappings().all()
            tables[table.name] = [
                {name: value for name, value in row.items() if name != "recorded_at_utc"}
                for row in rows
            ]
    return tables


def test_a_closing_batch_writes_supervision_once_per_interaction(store: Store) -> None:
    assert _scenario(store) == [[True, True, True, True, False], [False] * 5 + [True]]
    assert [(r.draft_id, r.reviewer_id) for r in store.reviews_for("s-2")] == [
        ("d-0", "sup-2"),  # recorded before the close: kept, not written again
        ("d-1", "sup-1"),
        ("d-2", "sup-1"),
    ]
    assert [o.seq for o in store.overrides_for("s-2")] == [1]
    assert [o.seq for o in store.overrides_for("s-3")] == [1, 2]
    assert store.supervision_facts("s-4") is None
    assert [c.workflow_id for c in store.review_claims()] == ["interaction-other"]
    archive = store.interaction_archive("s-3")
    assert archive is not None and len(archive.transcript) == 4  # the earlier run folded in
    for stream in ("interaction-s-1", "interaction-s-2", "interaction-s-3", "interaction-s-5"):
        assert store.verify_audit(stream) == (True, None)
    rows = _rows(store)
    assert [row["id"] for row in rows["review_decisions"]] == [1, 2, 3, 4, 5]
    assert [(row["interaction_id"], row["draft_id"]) for row in rows["review_decisions"]] == [
        ("s-2", "d-0"),
        ("s-1", "d-1"),
        ("s-2", "d-1"),
        ("s-2", "d-2"),
        ("s-5", "d-1"),
    ]
    assert [(row["interaction_id"], row["seq"]) for row in rows["human_overrides"]] == [
        ("s-2", 1),
        ("s-3", 1),
        ("s-3", 2),
        ("s-5", 1),
    ]


@pytest.mark.postgres
def test_sqlite_and_postgres_store_the_same_closing_rows(postgres_url: str, tmp_path: Path) -> None:
    from tests.store.conftest import _emptied

    written: list[dict[str, list[dict[str, Any]]]] = []
    for url in (f"sqlite:///{tmp_path / 'closing.db'}", _emptied(postgres_url)):
        store = open_test_store(url)
        try:
            _scenario(store)
            written.append(_rows(store))
        finally:
            store.close()
    sqlite_rows, postgres_rows = written
    assert sqlite_rows == postgres_rows
