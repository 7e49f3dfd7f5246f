"""Tables that make the audit chain checkable from outside: checkpoints and purge anchors.

``audit_events`` itself lives in ``store.tables`` with the other records; these are the
audit-only additions (see ``store.audit_checkpoints`` and ``store.retention``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from store.tables import UTCDateTime

AUDIT_CHECKPOINTS = "audit_checkpoints"
AUDIT_CHECKPOINT_HEADS = "audit_checkpoint_heads"
AUDIT_ANCHORS = "audit_anchors"


class AuditCheckpointRow(SQLModel, table=True):
    """One signed checkpoint (``models.audit.Checkpoint``), appended, never updated."""

    __tablename__ = AUDIT_CHECKPOINTS

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(description="As signed (ISO-8601 UTC).")
    taken_at: datetime = Field(sa_type=UTCDateTime, index=True)
    after_id: int
    through_id: int
    records: int
    streams: int
    heads_digest: str
    prev_digest: str
    key_id: str
    signature: str = Field(sa_type=Text)
    public_key: str = Field(description="Raw Ed25519 public key (hex) of key_id, for export.")


class AuditCheckpointHeadRow(SQLModel, table=True):
    """The last link of one stream inside one checkpoint's id range."""

    __tablename__ = AUDIT_CHECKPOINT_HEADS
    __table_args__ = (Index("ix_audit_checkpoint_heads_seq_stream", "checkpoint_seq", "stream"),)

    id: int | None = Field(default=None, primary_key=True)
    checkpoint_seq: int
    stream: str
    position: int
    hash: str


class AuditAnchorRow(SQLModel, table=True):
    """The last purged link of a stream whose older records retention removed.

    The stream's first remaining record links to ``hash``; the row's own MAC (audit key ring)
    keeps anyone without the key from moving it.
    """

    __tablename__ = AUDIT_ANCHORS

    stream: str = Field(primary_key=True)
    position: int
    hash: str
    key_id: str
    mac: str
    purged_at: datetime = Field(sa_type=UTCDateTime)
