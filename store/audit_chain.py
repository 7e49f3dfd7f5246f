"""Appending to and reading the per-stream audit chains inside a store session.

The linking itself is ``warmline.audit`` (pure); this module decides what links to what in the
database. Callers own the transaction: appends become visible together with whatever else the
caller writes (an interaction's facts and its decisions commit or vanish as one). The key ring
travels on the session (``session.info``, put there by the ``Store`` that opened it), so every
writer of every stream links with the same newest key without passing it around.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert
from sqlmodel import Session, col, select

from models.facts import AuditEvent
from store.tables import AuditEventRow
from warmline.audit import GENESIS_HASH, AuditKeyRing, canonical_json, link_text

AUDIT_KEYS_INFO = "warmline_audit_keys"
"""``session.info`` entry holding the ``AuditKeyRing`` appends link with."""

_EVENTS: Table = AuditEventRow.__table__  # type: ignore[attr-defined]


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


def _links_query(where: ColumnElement[bool]) -> Select[tuple[str, int, str]]:
    last = (
        select(_EVENTS.c.stream, func.max(_EVENTS.c.position).label("position"))
        .where(where)
        .group_by(_EVENTS.c.stream)
        .subquery()
    )
    return select(_EVENTS.c.stream, _EVENTS.c.position, _EVENTS.c.hash).join(
        last, (_EVENTS.c.stream == last.c.stream) & (_EVENTS.c.position == last.c.position)
    )


def last_links(session: Session, where: ColumnElement[bool]) -> list[tuple[str, int, str]]:
    """(stream, position, hash) of the last link of every stream among the rows ``where``
    selects: a stream's tail, or its head within a checkpoint's id range."""
    rows = session.execute(_links_query(where)).all()
    return [(stream, position, link) for stream, position, link in rows]


# Built once: every closing write runs these, and building and hashing a statement costs more
# Python time than executing it. The IN lists are expanding parameters.
_TAILS = _links_query(_EVENTS.c.stream.in_(bindparam("streams", expanding=True)))
_EXISTING = select(_EVENTS.c.stream, _EVENTS.c.seq).where(
    _EVENTS.c.stream.in_(bindparam("streams", expanding=True)),
    _EVENTS.c.seq.in_(bindparam("seqs", expanding=True)),
)
_INSERT = insert(_EVENTS)


def _tails(session: Session, streams: list[str]) -> dict[str, tuple[int, str]]:
    """(position, hash) of each stream's last link; new streams are absent (genesis)."""
    rows = session.execute(_TAILS, {"streams": streams}).all()
    return {stream: (position, link) for stream, position, link in rows}


def _existing(session: Session, events: Sequence[AuditEvent]) -> set[tuple[str, int]]:
    streams = sorted({e.stream for e in events})
    seqs = sorted({e.seq for e in events})
    rows = session.execute(_EXISTING, {"streams": streams, "seqs": seqs}).all()
    return {(stream, seq) for stream, seq in rows}


def append_events(session: Session, events: Sequence[AuditEvent]) -> list[StoredAuditEvent]:
    """Link ``events`` onto their streams' tails; events whose (stream, seq) exist are skipped.

    Streams are handled in name order and events in ``seq`` order, so concurrent batches take
    their locks in the same order (no deadlocks) and a batch lands in the order it was numbered.
    A concurrent writer on the same stream makes the insert fail on a unique constraint; the
    caller retries the whole transaction against the new tail. Two reads for the whole batch
    and one multi-row insert: the closing write of a batch of interactions appends all their
    records without a round trip per stream or an ORM object per row.
    """
    if not events:
        return []
    keys = session_keys(session)
    session.flush()  # pending rows of the caller first: the reads below must see them
    ordered = sorted(events, key=lambda e: (e.stream, e.seq))
    seen = _existing(session, ordered)
    tails = _tails(session, sorted({e.stream for e in ordered}))
    rows: list[dict[str, Any]] = []
    written: list[StoredAuditEvent] = []
    for stream, group in groupby(ordered, key=lambda e: e.stream):
        position, prev_hash = tails.get(stream, (0, GENESIS_HASH))
        for event in group:
            if (stream, event.seq) in seen:
                continue
            seen.add((stream, event.seq))
            payload = canonical_json(event.payload)
            text = link_text(
                prev_hash, stream, event.seq, event.kind, event.at, event.actor, payload
            )
            key_id, digest = keys.sign(text)
            position += 1
            row = {
                "stream": stream,
                "seq": event.seq,
                "position": position,
                "kind": event.kind,
                "at": event.at,
                "actor": event.actor,
                "prev_hash": prev_hash,
                "hash": digest,
                "key_id": key_id,
            }
            rows.append({**row, "payload": payload})
            written.append(StoredAuditEvent.model_construct(**row, payload=event.payload))
            prev_hash = digest
    if rows:
        session.execute(_INSERT, rows)
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
