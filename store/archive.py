"""The closing archive: an interaction's whole redacted transcript and decisions, kept at close.

Temporal deletes a closed workflow's history after the namespace retention; the audit must not
go with it. ``record_interactions`` calls ``add_archives`` in the closing transaction, so facts,
audit records and archive commit together or not at all (idempotent with them). Turns an
earlier run moved out before continue-as-new (``transcript_archive``) are folded in, so one
row holds the whole conversation; the ``archived`` audit record chains its digest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Index, Table, Text, bindparam, insert, select
from sqlmodel import Field, Session, SQLModel

from models.facts import AuditEvent, InteractionArchive, RecordInteraction
from models.interaction import TranscriptEntry
from store.tables import TranscriptArchiveRow, UTCDateTime, parse_utc
from warmline.audit import content_digest

INTERACTION_ARCHIVES = "interaction_archives"
ARCHIVED_KIND = "archived"

_ENTRIES = TypeAdapter(list[TranscriptEntry])


class InteractionArchiveRow(SQLModel, table=True):
    """``InteractionArchive`` as a row; ``closed_at``/``region`` are what retention selects by."""

    __tablename__ = INTERACTION_ARCHIVES
    __table_args__ = (Index("ix_interaction_archives_region_closed", "region", "closed_at"),)

    interaction_id: str = Field(primary_key=True)
    workflow_id: str
    region: str
    outcome: str
    closed_at: datetime = Field(sa_type=UTCDateTime)
    transcript: str = Field(sa_type=Text, description="JSON list of TranscriptEntry.")
    decisions: str = Field(sa_type=Text, description="JSON list of routing decisions.")
    digest: str


def archive_digest(transcript: Sequence[TranscriptEntry], decisions: Sequence[object]) -> str:
    return content_digest(
        {
            "transcript": [entry.model_dump(mode="json") for entry in transcript],
            "decisions": list(decisions),
        }
    )


_ARCHIVE: Table = InteractionArchiveRow.__table__  # type: ignore[attr-defined]
_RUNS: Table = TranscriptArchiveRow.__table__  # type: ignore[attr-defined]
_EARLIER_RUNS = (
    select(_RUNS.c.interaction_id, _RUNS.c.entries)
    .where(_RUNS.c.interaction_id.in_(bindparam("ids", expanding=True)))
    .order_by(_RUNS.c.interaction_id, _RUNS.c.run_index)
)
"""Built once (the closing write runs it for every batch); the ids are an expanding IN."""


def _earlier_runs(session: Session, ids: list[str]) -> dict[str, list[TranscriptEntry]]:
    rows = session.execute(_EARLIER_RUNS, {"ids": ids}).all()
    earlier: dict[str, list[TranscriptEntry]] = {}
    for interaction_id, text in rows:
        earlier.setdefault(interaction_id, []).extend(_ENTRIES.validate_json(text))
    return earlier


def add_archives(session: Session, records: Sequence[RecordInteraction]) -> list[AuditEvent]:
    """Archive newly recorded interactions; returns their ``archived`` audit records to chain.

    One multi-row insert for the batch, without an ORM object per row."""
    if not records:
        return []
    earlier = _earlier_runs(session, [r.facts.interaction_id for r in records])
    rows: list[dict[str, Any]] = []
    events: list[AuditEvent] = []
    for record in records:
        facts = record.facts
        transcript = [*earlier.get(facts.interaction_id, []), *record.transcript]
        digest = archive_digest(transcript, record.decisions)
        rows.append(
            {
                "interaction_id": facts.interaction_id,
                "workflow_id": facts.workflow_id,
                "region": facts.region,
                "outcome": facts.outcome,
                "closed_at": parse_utc(facts.ended_at),
                "transcript": _ENTRIES.dump_json(transcript).decode(),
                "decisions": json.dumps(record.decisions, sort_keys=True),
                "digest": digest,
            }
        )
        events.append(
            AuditEvent(
                stream=facts.workflow_id,
                seq=max((e.seq for e in record.audit), default=0) + 1,
                kind=ARCHIVED_KIND,
                at=facts.ended_at,
                payload={"digest": digest, "entries": len(transcript)},
            )
        )
    session.execute(insert(_ARCHIVE), rows)
    return events


def archive_from_row(row: InteractionArchiveRow) -> InteractionArchive:
    return InteractionArchive(
        interaction_id=row.interaction_id,
        workflow_id=row.workflow_id,
        region=row.region,
        outcome=row.outcome,
        closed_at=row.closed_at.isoformat(),
        transcript=_ENTRIES.validate_json(row.transcript),
        decisions=json.loads(row.decisions),
        digest=row.digest,
    )
