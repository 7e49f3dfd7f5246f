"""Recompute every link of the audit trail from stored rows, in one pass.

The store streams rows ordered by (stream, position) as plain tuples (no ORM object per row);
this module checks them and, on the way, recomputes what each checkpoint signed (how many rows
each id range holds and the last link of every stream in it), so one read of the table checks
both the chains and the checkpoints. Pure: rows in, findings out.

What each tampering looks like here:
- a record altered (any covered field): its MAC no longer matches;
- a record removed from the middle: a gap in positions at its successor;
- records reordered or inserted: ``prev_hash`` or the MAC of the first moved/new record fails
  (a new record cannot carry a valid MAC without the key);
- the last records of a stream, or a whole stream, removed: the checkpoint whose range held
  them no longer matches its signed heads and counts (see ``missing_heads``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from models.audit import AuditFinding, CheckpointHead
from warmline.audit import GENESIS_HASH, AuditKeyRing, anchor_text, legacy_link, link_text
from warmline.audit_checkpoint import head_line, heads_digest

AuditRow = tuple[int, str, int, int, str, str, str, str, str, str, str | None]
"""(id, stream, position, seq, kind, at, actor, payload, prev_hash, hash, key_id)."""

ROW_COLUMNS = (
    "id",
    "stream",
    "position",
    "seq",
    "kind",
    "at",
    "actor",
    "payload",
    "prev_hash",
    "hash",
    "key_id",
)


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a stream resumes after retention purged its older records (see ``retention``)."""

    stream: str
    position: int
    link: str
    key_id: str
    mac: str


@dataclass(frozen=True, slots=True)
class Cut:
    """The id range one checkpoint covers: ``(after_id, through_id]``."""

    seq: int
    after_id: int
    through_id: int


@dataclass
class ChainReport:
    records: int = 0
    streams: int = 0
    findings: list[AuditFinding] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    """Rows per cut, in cut order."""
    digests: list[str] = field(default_factory=list)
    """Recomputed heads digest per cut, in cut order."""
    heads: dict[int, dict[str, tuple[int, str]]] = field(default_factory=dict)
    """Recomputed heads of the cuts asked for by index (to name what a mismatch lost)."""


def check_anchor(keys: AuditKeyRing, anchor: Anchor) -> bool:
    if not keys.knows(anchor.key_id):
        return False
    return keys.matches(
        anchor.key_id, anchor_text(anchor.stream, anchor.position, anchor.link), anchor.mac
    )


def check_rows(
    rows: Iterable[AuditRow],
    keys: AuditKeyRing,
    anchors: Mapping[str, Anchor],
    cuts: Sequence[Cut] = (),
    *,
    collect_heads: frozenset[int] = frozenset(),
    max_findings: int = 100,
) -> ChainReport:
    """Check rows ordered by (stream, position); the first finding per stream is kept.

    ``anchors`` must already be MAC-checked (``check_anchor``): a stream with one starts right
    after it instead of at genesis. ``cuts`` are ascending and non-overlapping.
    """
    report = ChainReport(counts=[0] * len(cuts))
    throughs = [cut.through_id for cut in cuts]
    afters = [cut.after_id for cut in cuts]
    lines: list[list[str]] = [[] for _ in cuts]
    findings = report.findings
    current: str | None = None
    expected_position, expected_prev = 1, GENESIS_HASH
    keyed_seen = failed = False
    stream_heads: dict[int, tuple[int, str]] = {}

    def close_stream(stream: str) -> None:
        for index, (position, link) in stream_heads.items():
            lines[index].append(head_line(stream, position, link))
            if index in collect_heads:
                report.heads.setdefault(index, {})[stream] = (position, link)
        stream_heads.clear()

    for row_id, stream, position, seq, kind, at, actor, payload, prev, link, key_id in rows:
        report.records += 1
        if stream != current:
            if current is not None:
                close_stream(current)
            current = stream
            report.streams += 1
            anchor = anchors.get(stream)
            expected_position = anchor.position + 1 if anchor else 1
            expected_prev = anchor.link if anchor else GENESIS_HASH
            keyed_seen = failed = False
        index = bisect_left(throughs, row_id)
        if index < len(throughs) and row_id > afters[index]:
            report.counts[index] += 1
            stream_heads[index] = (position, link)
        if failed:
            continue
        problem = None
        if position != expected_position:
            problem = (
                f"records at positions {expected_position}..{position - 1} are missing"
                if position > expected_position
                else f"position {position} repeats or goes back (expected {expected_position})"
            )
        elif prev != expected_prev:
            problem = "does not link to the record before it (reordered, inserted or replaced)"
        else:
            text = link_text(prev, stream, seq, kind, at, actor, payload)
            problem = _link_problem(keys, text, link, key_id, keyed_seen)
            keyed_seen = keyed_seen or bool(key_id)
        if problem is not None:
            failed = True
            if len(findings) < max_findings:
                findings.append(
                    AuditFinding(stream=stream, position=position, seq=seq, problem=problem)
                )
        expected_position, expected_prev = position + 1, link
    if current is not None:
        close_stream(current)
    report.digests = [heads_digest(cut_lines) for cut_lines in lines]
    return report


def _link_problem(
    keys: AuditKeyRing, text: str, link: str, key_id: str | None, keyed_seen: bool
) -> str | None:
    """Why a record's stored link does not vouch for its contents, or None if it does."""
    if key_id:
        if not keys.knows(key_id):
            return f"linked with unknown key id {key_id}"
        if not keys.matches(key_id, text, link):
            return "contents do not match its MAC (altered)"
        return None
    if keyed_seen:
        return "an unkeyed record after keyed ones (inserted)"
    if legacy_link(text) != link:
        return "contents do not match its hash (altered)"
    return None


def missing_heads(
    signed: Iterable[CheckpointHead], found: Mapping[str, tuple[int, str]]
) -> list[tuple[CheckpointHead, str]]:
    """Signed heads the rows no longer show, each with what happened to it."""
    lost = []
    for head in sorted(signed, key=lambda h: h.stream):
        seen = found.get(head.stream)
        if seen is None:
            lost.append((head, "signed by the checkpoint but no longer stored (removed)"))
        elif seen[0] < head.position:
            lost.append((head, f"signed by the checkpoint; the stream now ends at {seen[0]}"))
        elif seen != (head.position, head.hash):
            lost.append((head, "differs from the link the checkpoint signed"))
    return lost
