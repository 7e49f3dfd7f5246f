"""Appending to and reading the per-stream audit chains inside a store session.

The linking itself is ``warmline.audit`` (pure); this module decides what links to what in the
database. Callers own the transaction: appends become visible together with whatever else the
caller writes (an interaction's facts and its decisions commit or vanish as one). The key ring
travels on the session (``session.info``, put there by the ``Store`` that opened it), so every
writer of every stream links with the same newest key without passing it around.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any

from pydantic import Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.facts import AuditEvent
from store.tables import AuditEventRow
from warmline.audit import GENESIS_HASH, AuditKeyRing, canonical_json, link_text

AUDIT_KEYS_INFO = "warmline_audit_keys"
"""``session.info`` entry holding the ``AuditKeyRing`` appends link with."""


class AuditKeysMissing(RuntimeError):
    """A write tried to append audit records through a store opened without audit keys."""


def session_info(keys: AuditKeyRing | None) -> dict[str, Any]:
    return {AUDIT_KEYS_INFO: keys} if keys is not None else {}


def session_keys(session: Session) -> AuditKeyRing:
    keys = session.info.get(AUDIT_KEYS_INFO)
    if not isinstance(keys, AuditKeyRing):
        raise AuditKeysMissing(
            "this store has no audit key ring: open it with audit_keys "
            "(runtime.audit_keys.open_store reads WARMLINE_AUDIT_KEYS)"
        )
    return keys


class StoredAuditEvent(AuditEvent):
    """An ``AuditEvent`` as the store chained it: what an auditor needs to recheck the hash."""

    position: int = Field(description="1-based append order within the stream (chain order).")
    prev_hash: str = Field(description="Link of the previous event in the stream; genesis 0*64.")
    hash: str = Field(description="HMAC-SHA256(key, prev_hash + canonical JSON of the event).")
    key_id: str | None = Field(description="Audit key of the link; None: unkeyed legacy link.")


def stored_event(row: AuditEventRow) -> StoredAuditEvent:
    return StoredAuditEvent(
        stream=row.stream,
        seq=row.seq,
        kind=row.kind,
        at=row.at,
        actor=row.actor,
        payload=json.loads(row.payload),
        position=row.position,
        prev_hash=row.prev_hash,
        hash=row.hash,
        key_id=row.key_id,
    )


def _tail(session: Session, stream: str) -> tuple[int, str]:
    """(position, hash) of the stream's last link, or (0, genesis) for a new stream."""
    last = session.exec(
        select(AuditEventRow.position, AuditEventRow.hash)
        .where(AuditEventRow.stream == stream)
        .order_by(col(AuditEventRow.position).desc())
        .limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS_HASH)


def _existing_seqs(session: Session, stream: str, seqs: Iterable[int]) -> set[int]:
    return set(
        session.exec(
            select(AuditEventRow.seq).where(
                AuditEventRow.stream == stream, col(AuditEventRow.seq).in_(list(seqs))
            )
        ).all()
    )


def append_events(session: Session, events: Sequence[AuditEvent]) -> list[StoredAuditEvent]:
    """Link ``events`` onto their streams' tails; events whose (stream, seq) exist are skipped.

    Streams are handled in name order and events in ``seq`` order, so concurrent batches take
    their locks in the same order (no deadlocks) and a batch lands in the order it was numbered.
    A concurrent writer on the same stream makes the flush fail on a unique constraint; the
    caller retries the whole transaction against the new tail.
    """
    keys = session_keys(session)
    written: list[StoredAuditEvent] = []
    ordered = sorted(events, key=lambda e: (e.stream, e.seq))
    for stream, group in groupby(ordered, key=lambda e: e.stream):
        batch = list(group)
        seen = _existing_seqs(session, stream, {e.seq for e in batch})
        position, prev_hash = _tail(session, stream)
        for event in batch:
            if event.seq in seen:
                continue
            seen.add(event.seq)
            body = event.model_dump(mode="json")
            payload = canonical_json(body["payload"])
            text = link_text(
                prev_hash, stream, event.seq, event.kind, event.at, event.actor, payload
            )
            key_id, digest = keys.sign(text)
            position += 1
            session.add(
                AuditEventRow(
                    stream=stream,
                    seq=event.seq,
                    position=position,
                    kind=event.kind,
                    at=event.at,
                    actor=event.actor,
                    payload=payload,
                    prev_hash=prev_hash,
                    hash=digest,
                    key_id=key_id,
                )
            )
            written.append(
                StoredAuditEvent(
                    **body, position=position, prev_hash=prev_hash, hash=digest, key_id=key_id
                )
            )
            prev_hash = digest
    session.flush()
    return written


def next_seq(session: Session, stream: str) -> int:
    """One past the highest ``seq`` in the stream (1 for a new stream)."""
    highest = session.exec(
        select(func.max(AuditEventRow.seq)).where(AuditEventRow.stream == stream)
    ).one()
    return (highest or 0) + 1


def stream_rows(session: Session, stream: str) -> list[AuditEventRow]:
    """The stream's rows in chain order."""
    return list(
        session.exec(
            select(AuditEventRow)
            .where(AuditEventRow.stream == stream)
            .order_by(col(AuditEventRow.position))
        ).all()
    )
