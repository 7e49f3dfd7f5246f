"""``warmline audit verify``: read the audit table once, streamed, and check it whole.

Rows come straight off the cursor as tuples (``yield_per``; a server-side cursor on
PostgreSQL), never as ORM objects, so a million records take seconds and constant memory. The
pure checks are ``warmline.audit_verify`` (links) and ``warmline.audit_checkpoint`` (signatures);
this module feeds them and compares what they recompute with what the checkpoints signed, and
with an exported copy of the checkpoints when the auditor brings one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence

from sqlalchemy import Engine
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from models.audit import AuditFinding, AuditVerifyReport, Checkpoint, CheckpointExport
from store.audit_checkpoints import stored_checkpoints, stored_heads
from store.audit_tables import AuditAnchorRow
from store.tables import AuditEventRow
from warmline.audit import AuditKeyRing
from warmline.audit_checkpoint import (
    CHECKPOINTS_STREAM,
    check_sequence,
    head_line,
    heads_digest,
    signature_valid,
)
from warmline.audit_verify import (
    ROW_COLUMNS,
    Anchor,
    AuditRow,
    ChainReport,
    Cut,
    check_anchor,
    check_rows,
    missing_heads,
)

RETENTION_STREAM = "retention"
"""Audit stream of retention: policy versions, legal holds, purges and compactions."""
COMPACTED_KIND = "audit_compacted"
"""The retention event that makes a checkpoint the new anchor (older ones removed)."""
YIELD_PER = 20_000


def stream_rows(engine: Engine, stream: str | None = None) -> Iterator[AuditRow]:
    """Audit rows in chain order as plain tuples, fetched in chunks."""
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    query = core_select(*(table.c[name] for name in ROW_COLUMNS)).order_by(
        table.c.stream, table.c.position
    )
    if stream is not None:
        query = query.where(table.c.stream == stream)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=YIELD_PER).execute(query)
        for chunk in result.partitions():
            yield from chunk


def _anchors(
    session: Session, keys: AuditKeyRing, findings: list[AuditFinding]
) -> dict[str, Anchor]:
    anchors = {}
    for row in session.exec(select(AuditAnchorRow)).all():
        anchor = Anchor(row.stream, row.position, row.hash, row.key_id, row.mac)
        if check_anchor(keys, anchor):
            anchors[row.stream] = anchor
        else:
            findings.append(
                AuditFinding(
                    stream=row.stream,
                    position=row.position,
                    problem="retention anchor does not match its MAC (altered or forged)",
                )
            )
    return anchors


def _compacted_through(
    engine: Engine, keys: AuditKeyRing, anchors: dict[str, Anchor]
) -> int | None:
    """The checkpoint the newest verified compaction made the anchor, if any."""
    own = {RETENTION_STREAM: anchors[RETENTION_STREAM]} if RETENTION_STREAM in anchors else {}
    report = check_rows(stream_rows(engine, RETENTION_STREAM), keys, own, ())
    if report.findings:
        return None  # an unverifiable retention stream vouches for nothing
    with Session(engine) as session:
        payloads = session.exec(
            select(AuditEventRow.payload)
            .where(AuditEventRow.stream == RETENTION_STREAM, AuditEventRow.kind == COMPACTED_KIND)
            .order_by(col(AuditEventRow.position).desc())
            .limit(1)
        ).first()
        latest = payloads
    if latest is None:
        return None
    return int(json.loads(latest)["anchor_checkpoint"])


def verify_trail(
    engine: Engine,
    keys: AuditKeyRing,
    public_keys: dict[str, bytes],
    *,
    stream: str | None = None,
    exported: CheckpointExport | None = None,
) -> AuditVerifyReport:
    """Check every link (of one stream, or all) and, for the whole table, every checkpoint."""
    started = time.perf_counter()
    findings: list[AuditFinding] = []
    with Session(engine) as session:
        anchors = _anchors(session, keys, findings)
        stored = stored_checkpoints(session) if stream is None else []
    compacted = _compacted_through(engine, keys, anchors) if stored else None
    findings += check_sequence(stored, public_keys, compacted)
    checked = [c for c in stored if c.seq != compacted]
    extra = _exported_only(exported, stored, compacted)
    cuts = sorted(
        (Cut(c.seq, c.after_id, c.through_id) for c in [*checked, *extra]),
        key=lambda cut: cut.seq,
    )
    if stream is not None:
        anchors = {stream: anchors[stream]} if stream in anchors else {}
    report = check_rows(stream_rows(engine, stream), keys, anchors, cuts)
    findings += report.findings
    signed = {c.seq: c for c in [*checked, *extra]}
    wrong = [i for i, cut in enumerate(cuts) if _mismatch(signed[cut.seq], report, i)]
    if wrong:
        findings += _name_losses(engine, keys, anchors, cuts, wrong, signed, exported)
    if exported is not None:
        findings += _compare_export(exported, stored, compacted, public_keys)
    return AuditVerifyReport(
        ok=not findings,
        records=report.records,
        streams=report.streams,
        checkpoints=len(checked),
        findings=findings,
        seconds=round(time.perf_counter() - started, 3),
    )


def _mismatch(checkpoint: Checkpoint, report: ChainReport, index: int) -> bool:
    return (
        report.counts[index] != checkpoint.records
        or report.digests[index] != checkpoint.heads_digest
    )


def _exported_only(
    exported: CheckpointExport | None, stored: Sequence[Checkpoint], compacted: int | None
) -> list[Checkpoint]:
    """Exported checkpoints the store no longer has (and retention did not remove)."""
    if exported is None:
        return []
    have = {c.seq for c in stored}
    floor = compacted or 0
    return [
        Checkpoint.model_validate(c.model_dump(exclude={"heads"}))
        for c in exported.checkpoints
        if c.seq not in have and c.seq > floor
    ]


def _name_losses(
    engine: Engine,
    keys: AuditKeyRing,
    anchors: dict[str, Anchor],
    cuts: Sequence[Cut],
    wrong: Sequence[int],
    signed: dict[int, Checkpoint],
    exported: CheckpointExport | None,
) -> list[AuditFinding]:
    """Second pass over the rows, only when a checkpoint no longer matches: which heads went."""
    again = check_rows(stream_rows(engine), keys, anchors, cuts, collect_heads=frozenset(wrong))
    from_file = {c.seq: c.heads for c in exported.checkpoints} if exported else {}
    findings: list[AuditFinding] = []
    for index in wrong:
        checkpoint = signed[cuts[index].seq]
        heads = from_file.get(checkpoint.seq)
        if heads is None:
            with Session(engine) as session:
                heads = stored_heads(session, checkpoint.seq)
            lines = (head_line(h.stream, h.position, h.hash) for h in heads)
            if heads_digest(lines) != checkpoint.heads_digest:
                findings.append(
                    AuditFinding(
                        stream=CHECKPOINTS_STREAM,
                        seq=checkpoint.seq,
                        problem="stored heads differ from the signed ones; verify with the "
                        "exported checkpoints to name the records",
                    )
                )
                continue
        lost = missing_heads(heads, again.heads.get(index, {}))
        findings += [
            AuditFinding(stream=head.stream, position=head.position, problem=problem)
            for head, problem in lost
        ]
        if not lost:
            findings.append(
                AuditFinding(
                    stream=CHECKPOINTS_STREAM,
                    seq=checkpoint.seq,
                    problem=f"signed {checkpoint.records} records in ids "
                    f"({checkpoint.after_id}, {checkpoint.through_id}], found "
                    f"{again.counts[index]}",
                )
            )
    return findings


def _compare_export(
    exported: CheckpointExport,
    stored: Sequence[Checkpoint],
    compacted: int | None,
    public_keys: dict[str, bytes],
) -> list[AuditFinding]:
    """The exported copy must be genuine, and the store must still hold what it holds."""
    findings: list[AuditFinding] = []
    trusted = {**{k: bytes.fromhex(v) for k, v in exported.public_keys.items()}, **public_keys}
    by_seq = {c.seq: c for c in stored}
    for copy in exported.checkpoints:
        where = {"stream": CHECKPOINTS_STREAM, "seq": copy.seq}
        key = trusted.get(copy.key_id)
        if key is None or not signature_valid(key, copy):
            findings.append(AuditFinding(**where, problem="exported copy is not validly signed"))
            continue
        lines = (head_line(h.stream, h.position, h.hash) for h in copy.heads)
        if heads_digest(lines) != copy.heads_digest:
            findings.append(AuditFinding(**where, problem="exported heads do not match"))
        here = by_seq.get(copy.seq)
        if here is None:
            if compacted is None or copy.seq > compacted:
                findings.append(AuditFinding(**where, problem="missing from the store"))
        elif here != Checkpoint.model_validate(copy.model_dump(exclude={"heads"})):
            findings.append(AuditFinding(**where, problem="differs from the exported copy"))
    return findings
