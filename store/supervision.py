"""Supervision records inside a store session: policy versions, reviews, overrides, QA, claims,
and the evidence and WFM volume computed from them.

``Store`` (repository.py) owns the transactions and calls these; each function does one
idempotent piece of work in the caller's session, so a phase move's policy version, its WFM
event and its audit entry commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Executable, Table, bindparam, case, func, insert
from sqlmodel import Session, col, delete, select

from models.facts import AuditEvent
from models.interaction import Route, interaction_workflow_id
from models.supervision import (
    ANY,
    ClaimOutcome,
    HumanOverride,
    RecordSupervision,
    ReviewClaim,
    ReviewDecision,
    ReviewRecord,
    SupervisionFacts,
    SupervisionMode,
    SupervisionPolicy,
    SupervisionVolume,
)
from models.supervision_phase import (
    PHASE_MODE,
    WFM_EVENTS_STREAM,
    EvidenceRequest,
    PhaseEvidence,
    PhaseMoveRequest,
    PhaseMoveResult,
)
from store.audit_chain import append_events, next_seq
from store.tables import (
    HumanOverrideRow,
    InteractionFactRow,
    QAReviewRow,
    ReviewClaimRow,
    ReviewDecisionRow,
    SupervisionFactRow,
    SupervisionPolicyRow,
    utc_now,
)
from warmline.supervision import staffing_impact, supervisor_staffing

AI_ROUTES = (Route.AI.value, Route.AI_MONITORED.value)
CONTAINED_POOL = "ai_contained"
WFM_PHASE_EVENT = "supervision_phase_changed"
_DIGITS = 6  # rates rounded so SQLite and PostgreSQL report the same evidence


class WriteConflict(Exception):
    """A concurrent writer took the slot or the seq this attempt picked; retry the attempt."""


# -- policy versions -------------------------------------------------------------------------


def policy_from_row(row: SupervisionPolicyRow) -> SupervisionPolicy:
    return SupervisionPolicy.model_validate_json(row.document)


def latest_policy_row(session: Session) -> SupervisionPolicyRow | None:
    return session.exec(
        select(SupervisionPolicyRow).order_by(col(SupervisionPolicyRow.version).desc()).limit(1)
    ).first()


def add_policy_version(
    session: Session,
    policy: SupervisionPolicy,
    author: str,
    change_key: str | None,
    base_version: int | None = None,
) -> SupervisionPolicy:
    """Append ``policy`` as the next version (a concurrent save makes the flush conflict).

    A change derived from a stored version passes that ``base_version``: the new one is
    exactly base + 1, so if anyone saved in between, the unique version makes this attempt
    fail and retry on the new document instead of silently dropping that save's change.
    """
    if base_version is None:
        base_version = session.exec(select(func.max(SupervisionPolicyRow.version))).one() or 0
    now = utc_now()
    saved = policy.model_copy(
        update={"version": base_version + 1, "author": author, "created_at": now.isoformat()}
    )
    document = saved.model_dump_json()
    session.add(
        SupervisionPolicyRow(
            version=saved.version,
            author=author,
            created_at=now,
            change_key=change_key,
            document=document,
        )
    )
    session.flush()
    return SupervisionPolicy.model_validate_json(document)


def apply_move(session: Session, move: PhaseMoveRequest) -> PhaseMoveResult:
    """Write a phase move: new policy version, WFM event, phase audit entry (once per key)."""
    done = session.exec(
        select(SupervisionPolicyRow).where(SupervisionPolicyRow.change_key == move.move_key)
    ).first()
    if done is not None:
        policy = policy_from_row(done)
        staffing = staffing_impact(
            move.from_phase, move.to_phase, move.evidence, policy.supervisor_concurrent_cap
        )
        return PhaseMoveResult(policy_version=policy.version, staffing=staffing, written=False)
    latest = latest_policy_row(session)
    base = policy_from_row(latest) if latest else SupervisionPolicy()
    mode = PHASE_MODE[move.to_phase]
    policy = add_policy_version(
        session,
        base.with_mode(move.intent, move.channel or ANY, mode),
        move.actor,
        move.move_key,
        base_version=latest.version if latest else 0,
    )
    staffing = staffing_impact(
        move.from_phase, move.to_phase, move.evidence, policy.supervisor_concurrent_cap
    )
    at = move.at.isoformat()
    payload = {
        "intent": move.intent,
        "channel": move.channel or ANY,
        "move": move.kind.value,
        "from_phase": move.from_phase.value if move.from_phase else None,
        "to_phase": move.to_phase.value,
        "mode": mode.value,
        "policy_version": policy.version,
        "staffing": staffing.model_dump(mode="json"),
        "reasons": move.reasons,
        "evidence": move.evidence.model_dump(mode="json") if move.evidence else None,
    }
    wfm = AuditEvent(
        stream=WFM_EVENTS_STREAM,
        seq=next_seq(session, WFM_EVENTS_STREAM),
        kind=WFM_PHASE_EVENT,
        at=at,
        actor=move.actor,
        payload=payload,
    )
    phase_event = AuditEvent(
        stream=move.audit_stream,
        seq=move.audit_seq,
        kind=f"phase_{move.kind.value}",
        at=at,
        actor=move.actor,
        payload=payload,
    )
    written = append_events(session, [wfm, phase_event])
    if not any(event.stream == WFM_EVENTS_STREAM for event in written):
        # PostgreSQL (read committed) can show a seq committed after next_seq looked.
        raise WriteConflict(f"{WFM_EVENTS_STREAM} seq {wfm.seq} taken concurrently")
    return PhaseMoveResult(policy_version=policy.version, staffing=staffing, written=True)


# -- reviews, overrides, supervision facts -----------------------------------------------------


def _review_values(review: ReviewRecord) -> dict[str, Any]:
    body = review.model_dump()
    body["decision"] = review.decision.value
    body["mode"] = review.mode.value
    return body


def _override_values(override: HumanOverride) -> dict[str, Any]:
    body = override.model_dump()
    body["kind"] = override.kind.value
    return body


def _supervision_values(facts: SupervisionFacts) -> dict[str, Any]:
    body = facts.model_dump()
    body["mode"] = facts.mode.value
    body["triggers"] = json.dumps(facts.triggers)
    return body


def review_from_row(row: ReviewDecisionRow) -> ReviewRecord:
    return ReviewRecord.model_validate(row.model_dump(exclude={"id"}))


# Built once: the closing write runs these for every batch, and building a statement costs
# more Python time than executing it. Rows go in as Core inserts, without ORM objects.
_REVIEWS: Table = ReviewDecisionRow.__table__  # type: ignore[attr-defined]
_OVERRIDES: Table = HumanOverrideRow.__table__  # type: ignore[attr-defined]
_SUPERVISION: Table = SupervisionFactRow.__table__  # type: ignore[attr-defined]
_CLAIMS: Table = ReviewClaimRow.__table__  # type: ignore[attr-defined]
_STORED_REVIEWS = select(_REVIEWS.c.interaction_id, _REVIEWS.c.draft_id).where(
    _REVIEWS.c.interaction_id.in_(bindparam("ids", expanding=True))
)
_STORED_OVERRIDES = select(_OVERRIDES.c.interaction_id, _OVERRIDES.c.seq).where(
    _OVERRIDES.c.interaction_id.in_(bindparam("ids", expanding=True))
)
_STORED_SUPERVISION = select(_SUPERVISION.c.interaction_id).where(
    _SUPERVISION.c.interaction_id.in_(bindparam("ids", expanding=True))
)
_RELEASE_CLAIMS = delete(_CLAIMS).where(_CLAIMS.c.workflow_id == bindparam("workflow_id"))


Keyed = TypeVar("Keyed", ReviewRecord, HumanOverride)


def _insert_new(
    session: Session,
    items: Sequence[Keyed],
    stored: Executable,
    key: Callable[[Keyed], tuple[str, Any]],
    values: Callable[[Keyed], dict[str, Any]],
    table: Table,
) -> int:
    """Insert, in the given order, the items whose (interaction, key) ``stored`` does not
    return yet (a key repeated in ``items`` counts once); returns how many."""
    if not items:
        return 0
    ids = sorted({item.interaction_id for item in items})
    seen = {
        (interaction_id, part) for interaction_id, part in session.execute(stored, {"ids": ids})
    }
    rows: list[dict[str, Any]] = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            rows.append(values(item))
    if rows:
        session.execute(insert(table), rows)
    return len(rows)


def _insert_new_reviews(session: Session, reviews: Sequence[ReviewRecord]) -> int:
    """Reviews not stored yet, keyed by interaction and draft."""
    return _insert_new(session, reviews, _STORED_REVIEWS, _review_order, _review_values, _REVIEWS)


def _insert_new_overrides(session: Session, overrides: Sequence[HumanOverride]) -> int:
    """Overrides not stored yet, keyed by interaction and ``seq``."""
    return _insert_new(
        session, overrides, _STORED_OVERRIDES, _override_order, _override_values, _OVERRIDES
    )


def _review_order(review: ReviewRecord) -> tuple[str, str]:
    return review.interaction_id, review.draft_id


def _override_order(override: HumanOverride) -> tuple[str, int]:
    return override.interaction_id, override.seq


def add_reviews(session: Session, reviews: list[ReviewRecord]) -> int:
    """Insert reviews not stored yet (keyed by interaction and draft); returns how many."""
    return _insert_new_reviews(session, sorted(reviews, key=_review_order))


def override_from_row(row: HumanOverrideRow) -> HumanOverride:
    return HumanOverride.model_validate(row.model_dump(exclude={"id"}))


def add_overrides(session: Session, overrides: list[HumanOverride]) -> int:
    return _insert_new_overrides(session, sorted(overrides, key=_override_order))


def facts_from_row(row: SupervisionFactRow) -> SupervisionFacts:
    body = row.model_dump()
    body["triggers"] = json.loads(row.triggers)
    return SupervisionFacts.model_validate(body)


def add_supervision(session: Session, record: RecordSupervision) -> bool:
    """Facts, reviews and overrides of one interaction; False if its facts were stored."""
    return add_supervision_many(session, [record])[0]


def add_supervision_many(session: Session, records: Sequence[RecordSupervision]) -> list[bool]:
    """``add_supervision`` for several interactions (the closing batch), in the given order,
    with one statement per table instead of several per record; per record, whether its
    facts were new (a later record of an interaction already in ``records`` is not).

    Each table is written in the order one ``add_supervision`` per record would write it
    (supervision facts, then reviews and overrides sorted within each record, then the
    released claims), so rows, ids and the order rows are locked in stay the same.
    """
    if not records:
        return []
    ids = sorted({record.facts.interaction_id for record in records})
    stored = set(session.execute(_STORED_SUPERVISION, {"ids": ids}).scalars())
    fresh: list[bool] = []
    new: list[RecordSupervision] = []
    for record in records:
        interaction_id = record.facts.interaction_id
        fresh.append(interaction_id not in stored)
        if interaction_id not in stored:
            stored.add(interaction_id)
            new.append(record)
    if not new:
        return fresh
    session.execute(insert(_SUPERVISION), [_supervision_values(r.facts) for r in new])
    _insert_new_reviews(
        session, [review for r in new for review in sorted(r.reviews, key=_review_order)]
    )
    _insert_new_overrides(
        session,
        [override for r in new for override in sorted(r.overrides, key=_override_order)],
    )
    # The interactions are closed: nobody holds their reviews any more.
    session.execute(
        _RELEASE_CLAIMS,
        [{"workflow_id": interaction_workflow_id(r.facts.interaction_id)} for r in new],
    )
    return fresh


# -- supervisor claims (the concurrent cap) ---------------------------------------------------


def claim_from_row(row: ReviewClaimRow) -> ReviewClaim:
    return ReviewClaim.model_validate(row.model_dump(exclude={"id"}))


def claim(
    session: Session, workflow_id: str, draft_id: str, reviewer_id: str, cap: int, at: datetime
) -> ClaimOutcome:
    """Give the reviewer the draft if they hold fewer than ``cap`` reviews and nobody else has
    it; the lowest free slot makes the cap a database constraint, not a hope."""
    held = list(
        session.exec(select(ReviewClaimRow).where(ReviewClaimRow.reviewer_id == reviewer_id)).all()
    )
    holder = session.exec(
        select(ReviewClaimRow).where(
            ReviewClaimRow.workflow_id == workflow_id, ReviewClaimRow.draft_id == draft_id
        )
    ).first()
    if holder is not None and holder.reviewer_id == reviewer_id:
        return ClaimOutcome(
            claimed=True, claim=claim_from_row(holder), held=len(held), reason="already held"
        )
    if holder is not None:
        return ClaimOutcome(
            claimed=False,
            held=len(held),
            reason=f"held by {holder.reviewer_id} since {holder.claimed_at.isoformat()}",
        )
    taken = {row.slot for row in held}
    free = [slot for slot in range(1, cap + 1) if slot not in taken]
    if not free:
        return ClaimOutcome(
            claimed=False,
            held=len(held),
            reason=f"{reviewer_id} already holds {len(held)} reviews (cap {cap})",
        )
    row = ReviewClaimRow(
        workflow_id=workflow_id,
        draft_id=draft_id,
        reviewer_id=reviewer_id,
        slot=free[0],
        claimed_at=at,
    )
    session.add(row)
    session.flush()
    return ClaimOutcome(
        claimed=True, claim=claim_from_row(row), held=len(held) + 1, reason=f"slot {row.slot}"
    )


# -- evidence and WFM volume --------------------------------------------------------------------


def _ratio(part: int | float | None, whole: int | float | None) -> float | None:
    if not whole:
        return None
    return round(float(part or 0) / float(whole), _DIGITS)


def _mean(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS)


def phase_evidence(session: Session, request: EvidenceRequest) -> PhaseEvidence:
    """Evidence about an intent's AI in its current phase, from facts, reviews and QA."""
    F = InteractionFactRow
    entered = request.phase_started_at
    window_start = max(entered, request.now - timedelta(days=request.window_days))
    scope: list[ColumnElement[bool]] = [col(F.intent) == request.intent]
    if request.channel:
        scope.append(col(F.initial_channel) == request.channel)
    ai: list[ColumnElement[bool]] = [*scope, col(F.route).in_(AI_ROUTES)]
    if request.model_version:
        ai.append(col(F.model_version) == request.model_version)
    in_window = [col(F.started_at_utc) >= window_start, col(F.started_at_utc) <= request.now]
    volume = session.exec(
        select(func.count()).where(
            *ai, col(F.started_at_utc) >= entered, col(F.started_at_utc) <= request.now
        )
    ).one()
    window_volume, contained, ai_csat, handle = session.exec(
        select(
            func.count(),
            func.sum(case((col(F.pool) == CONTAINED_POOL, 1), else_=0)),
            func.avg(F.csat),
            func.avg(F.total_seconds),
        ).where(*ai, *in_window)
    ).one()
    human_csat = session.exec(
        select(func.avg(F.csat)).where(*scope, *in_window, col(F.route) == Route.HUMAN.value)
    ).one()
    csat_delta = None
    if ai_csat is not None and human_csat is not None:
        csat_delta = round(float(ai_csat) - float(human_csat), _DIGITS)

    R = ReviewDecisionRow
    reviews_where: list[ColumnElement[bool]] = [
        col(R.intent) == request.intent,
        col(R.decided_at) >= window_start,
        col(R.decided_at) <= request.now,
    ]
    if request.channel:
        reviews_where.append(col(R.channel) == request.channel)
    if request.model_version:
        reviews_where.append(col(R.model_version) == request.model_version)
    reviewed, approved = session.exec(
        select(
            func.count(),
            func.sum(case((col(R.decision) == ReviewDecision.APPROVE.value, 1), else_=0)),
        ).where(*reviews_where)
    ).one()

    Q = QAReviewRow
    qa_where: list[ColumnElement[bool]] = [
        col(Q.intent) == request.intent,
        col(Q.reviewed_at) >= window_start,
        col(Q.reviewed_at) <= request.now,
    ]
    if request.channel:
        qa_where.append(col(Q.channel) == request.channel)
    qa_samples, qa_correct = session.exec(
        select(
            func.count(), func.sum(case((col(Q.resolved_correctly).is_(True), 1), else_=0))
        ).where(*qa_where)
    ).one()

    S = SupervisionFactRow
    sup_where: list[ColumnElement[bool]] = [
        col(S.intent) == request.intent,
        col(S.started_at) >= window_start,
        col(S.started_at) <= request.now,
    ]
    if request.channel:
        sup_where.append(col(S.channel) == request.channel)
    sup_total, sup_supervised = session.exec(
        select(func.count(), func.sum(case((_supervised(), 1), else_=0))).where(*sup_where)
    ).one()

    return PhaseEvidence(
        days_in_phase=round(max(0.0, (request.now - entered).total_seconds()) / 86_400, _DIGITS),
        volume=int(volume),
        window_days=round((request.now - window_start).total_seconds() / 86_400, _DIGITS),
        window_volume=int(window_volume),
        reviewed_drafts=int(reviewed),
        draft_approval_rate=_ratio(approved, reviewed),
        containment_rate=_ratio(contained, window_volume),
        csat_delta=csat_delta,
        qa_samples=int(qa_samples),
        qa_resolution_accuracy=_ratio(qa_correct, qa_samples),
        mean_handle_seconds=_mean(handle),
        supervised_share=_ratio(sup_supervised, sup_total),
    )


def _supervised() -> ColumnElement[bool]:
    """A session occupied a supervisor: fully supervised, or a draft was held for review."""
    S = SupervisionFactRow
    return (col(S.mode) == SupervisionMode.FULLY_SUPERVISED.value) | (col(S.drafts_held) > 0)


def supervision_volume(
    session: Session, since: datetime, until: datetime, intent: str | None, cap: int
) -> SupervisionVolume:
    """Supervision queue volume started in [since, until) and the supervisors it implies."""
    S = SupervisionFactRow
    where: list[ColumnElement[bool]] = [col(S.started_at) >= since, col(S.started_at) < until]
    if intent:
        where.append(col(S.intent) == intent)
    total, supervised, reviews, supervised_seconds = session.exec(
        select(
            func.count(),
            func.sum(case((_supervised(), 1), else_=0)),
            func.sum(S.reviews),
            func.sum(case((_supervised(), S.supervised_seconds), else_=0.0)),
        ).where(*where)
    ).one()
    hours = max((until - since).total_seconds() / 3600, 1e-9)
    supervised = int(supervised or 0)
    seconds = round(float(supervised_seconds or 0.0), _DIGITS)
    per_hour = round(supervised / hours, _DIGITS)
    mean_seconds = round(seconds / supervised, _DIGITS) if supervised else 0.0
    return SupervisionVolume(
        since=since,
        until=until,
        intent=intent,
        interactions=int(total),
        supervised_interactions=supervised,
        reviews=int(reviews or 0),
        supervised_seconds=seconds,
        volume_per_hour=per_hour,
        mean_supervised_seconds=mean_seconds,
        concurrent_sessions=round(seconds / (hours * 3600), _DIGITS),
        supervisor_cap=cap,
        supervisors_needed=supervisor_staffing(per_hour, mean_seconds, cap),
    )
