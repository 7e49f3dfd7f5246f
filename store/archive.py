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

from pydantic import TypeAdapter
from sqlalchemy import Index, Text
from sqlmodel import Field, Session, SQLModel, col, select

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


def _earlier_runs(session: Session, ids: list[str]) -> dict[str, list[TranscriptEntry]]:
    rows = session.exec(
        select(TranscriptArchiveRow.interaction_id, TranscriptArchiveRow.entries)
        .where(col(TranscriptArchiveRow.interaction_id).in_(ids))
        .order_by(col(TranscriptArchiveRow.interaction_id), col(TranscriptArchiveRow.run_index))
    ).all()
    earlier: dict[str, list[TranscriptEntry]] = {}
    for interaction_id, text in rows:
        earlier.setdefault(interaction_id, []).extend(_ENTRIES.validate_json(text))
    return earlier


def add_archives(session: Session, records: Sequence[RecordInteraction]) -> list[AuditEvent]:
    """Archive newly recorded interactions; returns their ``archived`` audit records to chain."""
    if not records:
        return []
    earlier = _earlier_runs(session, [r.facts.interaction_id for r in records])
    events: list[AuditEvent] = []
    for record in records:
        facts = record.facts
        transcript = [*earlier.get(facts.interaction_id, []), *record.transcript]
        digest = archive_digest(transcript, record.decisions)
        session.add(
            InteractionArchiveRow(
                interaction_id=facts.interaction_id,
                workflow_id=facts.workflow_id,
                region=facts.region,
                outcome=facts.outcome,
                closed_at=parse_utc(facts.ended_at),
                transcript=_ENTRIES.dump_json(transcript).decode(),
                decisions=json.dumps(record.decisions, sort_keys=True),
                digest=digest,
            )
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
