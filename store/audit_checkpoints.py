"""Taking, reading and exporting signed checkpoints of the audit table.

A checkpoint covers the audit rows with ids in ``(after_id, through_id]``: ``after_id`` is the
previous checkpoint's ``through_id``, ``through_id`` the highest id committed when it was taken.
For that cut to be exact every row with a lower id must already be committed: SQLite has one
writer at a time, and on PostgreSQL a brief ``SHARE`` lock waits for in-flight appends and holds
new ones back while the highest id is read (the heads are computed afterwards, unlocked).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from models.audit import Checkpoint, CheckpointBody, CheckpointHead, SignedCheckpoint
from store.audit_chain import last_links
from store.audit_tables import AuditCheckpointHeadRow, AuditCheckpointRow
from store.db import write_engine
from store.tables import AUDIT_EVENTS, AuditEventRow
from store.writes import write_with_retry
from warmline.audit import GENESIS_HASH
from warmline.audit_checkpoint import (
    checkpoint_digest,
    head_line,
    heads_digest,
    public_key_bytes,
    sign_checkpoint,
)


def checkpoint_from_row(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint.model_validate(row.model_dump(exclude={"taken_at", "public_key"}))


def _cut(engine: Engine) -> int:
    """The highest audit row id below which every row is committed."""
    with write_engine(engine).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"LOCK TABLE {AUDIT_EVENTS} IN SHARE MODE"))
        through = conn.execute(select(func.max(AuditEventRow.id))).scalar()
        conn.commit()
    return int(through or 0)


def _heads(session: Session, after: int, through: int) -> list[CheckpointHead]:
    in_range = (col(AuditEventRow.id) > after) & (col(AuditEventRow.id) <= through)
    links = last_links(session, in_range)
    return [CheckpointHead(stream=s, position=p, hash=h) for s, p, h in links]


def latest_row(session: Session) -> AuditCheckpointRow | None:
    return session.exec(
        select(AuditCheckpointRow).order_by(col(AuditCheckpointRow.seq).desc()).limit(1)
    ).first()


def take_checkpoint(
    engine: Engine, signing_key: bytes, now: datetime, info: dict[str, object] | None = None
) -> Checkpoint | None:
    """Sign the rows appended since the last checkpoint; None when there are none.

    Two takers at once: the second to insert hits the ``seq`` primary key and retries, then
    finds the range already covered (or covers what came after it).
    """
    through = _cut(engine)
    public_key = public_key_bytes(signing_key)

    def attempt(session: Session) -> Checkpoint | None:
        previous = latest_row(session)
        after = previous.through_id if previous else 0
        if through <= after:
            return None
        heads = _heads(session, after, through)
        records = session.exec(
            select(func.count())
            .select_from(AuditEventRow)
            .where(col(AuditEventRow.id) > after, col(AuditEventRow.id) <= through)
        ).one()
        body = CheckpointBody(
            seq=(previous.seq if previous else 0) + 1,
            at=now.isoformat(),
            after_id=after,
            through_id=through,
            records=records,
            streams=len(heads),
            heads_digest=heads_digest(head_line(h.stream, h.position, h.hash) for h in heads),
            prev_digest=checkpoint_digest(checkpoint_from_row(previous))
            if previous
            else GENESIS_HASH,
        )
        checkpoint = sign_checkpoint(signing_key, body)
        session.add(
            AuditCheckpointRow(**checkpoint.model_dump(), taken_at=now, public_key=public_key.hex())
        )
        session.flush()
        session.bulk_insert_mappings(
            AuditCheckpointHeadRow,
            [{"checkpoint_seq": body.seq, **h.model_dump()} for h in heads],
        )
        return checkpoint

    return write_with_retry(write_engine(engine), attempt, info)


def stored_checkpoints(session: Session) -> list[Checkpoint]:
    rows = session.exec(select(AuditCheckpointRow).order_by(col(AuditCheckpointRow.seq))).all()
    return [checkpoint_from_row(row) for row in rows]


def stored_public_keys(session: Session) -> dict[str, str]:
    rows = session.exec(
        select(AuditCheckpointRow.key_id, AuditCheckpointRow.public_key).distinct()
    ).all()
    return dict(rows)


def stored_heads(session: Session, seq: int) -> list[CheckpointHead]:
    rows = session.exec(
        select(
            AuditCheckpointHeadRow.stream,
            AuditCheckpointHeadRow.position,
            AuditCheckpointHeadRow.hash,
        ).where(AuditCheckpointHeadRow.checkpoint_seq == seq)
    ).all()
    return [CheckpointHead(stream=s, position=p, hash=h) for s, p, h in rows]


def export_checkpoints(session: Session, since_seq: int = 0) -> list[SignedCheckpoint]:
    """Every stored checkpoint after ``since_seq`` with its heads (for keeping elsewhere)."""
    return [
        SignedCheckpoint(**checkpoint.model_dump(), heads=stored_heads(session, checkpoint.seq))
        for checkpoint in stored_checkpoints(session)
        if checkpoint.seq > since_seq
    ]
