"""Human oversight of the AI inside one interaction: supervision modes, held drafts, reviews.

Fully supervised drafts never reach the customer unapproved: they wait for a supervisor's
``review_response`` (findable through the ``WarmlinePendingReview`` search attribute) or the
review deadline, which hands the customer to a human. Semi-autonomous conversations stop for
approval or a hand-over when a trigger fires; fully autonomous ones are sampled for QA after the
fact. Every human decision is audited. The AI turn (``ai_turn``) sequences these steps.
"""

from __future__ import annotations

from pydantic import BaseModel

from models.interaction import EscalationTrigger
from models.interaction_state import HeldDraft, InteractionCarry
from models.lifecycle import UpsertSearchAttributes
from models.supervision import (
    HumanOverride,
    OverrideKind,
    PendingDraft,
    RecordSupervision,
    ReviewDecision,
    ReviewRecord,
    ReviewResponse,
    SemiAutonomousTrigger,
    SupervisionFacts,
    SupervisionMode,
    TriggerAction,
)
from models.triage import SupervisionPlan
from warmline.lifecycle.transition import Step, parse_time
from warmline.redaction import redact
from warmline.sentiment import sentiment_score
from warmline.supervision import qa_sampled, semi_autonomous_check

DEADLINE_REVIEWER = "warmline"
FULLY_SUPERVISED_WHY = "fully supervised"


class ReviewOutcome(BaseModel):
    """What the customer gets after a review; ``sent_text`` None means a human takes over."""

    sent_text: str | None
    trigger: EscalationTrigger | None = None
    detail: str = ""


def apply_plan(s: Step, plan: SupervisionPlan | None) -> None:
    s.state.supervision = plan
    if plan is not None:
        s.audit(
            "supervision_mode",
            {"mode": plan.mode.value, "reason": plan.reason, "policy": plan.policy_version},
        )


def search_attributes(
    c: InteractionCarry,
    *,
    pending_review: bool | None = None,
    review_since: str | None = None,
    state: str | None = None,
    pool: str | None = None,
) -> UpsertSearchAttributes:
    """Intent and mode, upserted only when someone needs to find the interaction (a held
    draft, the close): a visibility write per routing would halve throughput."""
    return UpsertSearchAttributes(
        intent=c.classification.intent if c.classification else "unknown",
        supervision_mode=c.supervision.mode.value if c.supervision else None,
        pending_review=pending_review,
        review_since=review_since,
        state=state,
        pool=pool,
    )


def gate(s: Step, safe_text: str) -> SemiAutonomousTrigger | None:
    """Before the AI answers: does this turn need a human's approval or the human?"""
    c = s.state
    plan = c.supervision
    if plan is None or plan.mode is not SupervisionMode.SEMI_AUTONOMOUS:
        return None
    duration = (s.now - parse_time(c.started_at)).total_seconds()
    intent = c.classification.intent if c.classification else ""
    trigger = semi_autonomous_check(
        safe_text,
        amount=None,
        sentiment=sentiment_score(safe_text),
        duration=duration,
        topics=[intent.replace("_", " ")],
        policy=plan.triggers,
    )
    if trigger is not None:
        c.supervision_triggers.append(trigger.kind.value)
        s.audit(
            "supervision_trigger",
            {"kind": trigger.kind.value, "action": trigger.action.value, "detail": trigger.detail},
        )
    return trigger


def needed(
    plan: SupervisionPlan | None, approval: SemiAutonomousTrigger | None, draft: str
) -> str | None:
    """Why this draft must wait for a supervisor, or None to send it now."""
    if plan is None:
        return None
    if plan.mode is SupervisionMode.FULLY_SUPERVISED:
        return FULLY_SUPERVISED_WHY
    if approval is not None and approval.action is TriggerAction.APPROVAL:
        return approval.detail
    if plan.mode is SupervisionMode.SEMI_AUTONOMOUS:
        # The AI itself may promise money the customer never mentioned.
        in_draft = semi_autonomous_check(
            draft, amount=None, sentiment=None, duration=None, topics=[], policy=plan.triggers
        )
        if in_draft is not None and in_draft.action is TriggerAction.APPROVAL:
            return f"draft: {in_draft.detail}"
    return None


def hold(s: Step, turn: int, draft: HeldDraft) -> None:
    """Put the draft on the worklist (the caller makes the job wait for the decision)."""
    c = s.state
    c.pending_draft = PendingDraft(
        draft_id=draft.draft_id, turn=turn, text=draft.text, created_at=s.now
    )
    s.emit(search_attributes(c, pending_review=True, review_since=s.at))
    s.audit("draft_held", {"draft_id": draft.draft_id, "turn": turn, "why": draft.why})
    s.touch()


def settle(s: Step, turn: int, draft: HeldDraft, response: ReviewResponse | None) -> ReviewOutcome:
    """Record the supervisor's decision (or the deadline's) and say what the customer gets."""
    c = s.state
    plan = c.supervision
    assert plan is not None, "only a supervised interaction holds drafts"
    c.pending_draft = None
    s.emit(UpsertSearchAttributes(pending_review=False))
    decision = response.decision if response else ReviewDecision.REJECT
    reviewer = response.reviewer_id if response else DEADLINE_REVIEWER
    reason = response.reason if response else "review deadline passed"
    safe_reason = redact(reason) if reason else None
    sent: str | None = None
    if decision is ReviewDecision.APPROVE:
        sent = draft.text
    elif decision is ReviewDecision.EDIT and response and response.edited_text:
        sent = redact(response.edited_text)
    _record(s, turn, draft, decision, reviewer, sent, safe_reason, by_deadline=response is None)
    if response is None:
        return ReviewOutcome(
            sent_text=None,
            trigger=EscalationTrigger.REVIEW_TIMEOUT,
            detail=f"draft {draft.draft_id} not reviewed within {plan.review_deadline_seconds:g}s",
        )
    if sent is None:
        return ReviewOutcome(
            sent_text=None,
            trigger=EscalationTrigger.SUPERVISOR_REJECTED,
            detail=f"{reviewer} rejected draft {draft.draft_id}: "
            f"{safe_reason or 'no reason given'}",
        )
    return ReviewOutcome(sent_text=sent)


def _record(
    s: Step,
    turn: int,
    draft: HeldDraft,
    decision: ReviewDecision,
    reviewer: str,
    sent: str | None,
    reason: str | None,
    *,
    by_deadline: bool,
) -> None:
    """The review, its audit event and, when a human changed the AI's answer, the override."""
    c = s.state
    assert c.supervision is not None
    c.reviews.append(
        ReviewRecord(
            interaction_id=c.request.interaction_id,
            draft_id=draft.draft_id,
            decision=decision,
            reviewer_id=reviewer,
            decided_at=s.now,
            held_since=parse_time(draft.held_at),
            intent=c.classification.intent if c.classification else "unknown",
            channel=c.channel.value,
            mode=c.supervision.mode,
            model_version=draft.model_version,
            turn=turn,
            draft_text=draft.text,
            sent_text=sent,
            reason=reason,
            trigger=None if draft.why == FULLY_SUPERVISED_WHY else draft.why,
        )
    )
    changed = sent is not None and sent != draft.text
    s.audit(
        "review_decision",
        {
            "draft_id": draft.draft_id,
            "decision": decision.value,
            "changed": changed,
            "reason": reason,
        },
        actor=reviewer,
    )
    if by_deadline or decision is ReviewDecision.APPROVE:
        return
    c.overrides.append(
        HumanOverride(
            interaction_id=c.request.interaction_id,
            seq=len(c.overrides) + 1,
            kind=OverrideKind.DRAFT_REPLACED
            if decision is ReviewDecision.EDIT
            else OverrideKind.ROUTING_OVERRIDE,
            actor=reviewer,
            at=s.now,
            ai_decision=draft.text[:2000],
            human_decision=(sent or "rejected: hand to a human agent")[:2000],
            reason=reason,
        )
    )


def ignore_response(s: Step, response: ReviewResponse, why: str) -> None:
    s.note = why
    s.audit(
        "review_ignored", {"draft_id": response.draft_id, "why": why}, actor=response.reviewer_id
    )


def supervision_record(s: Step, ended_at: str) -> RecordSupervision | None:
    c = s.state
    plan = c.supervision
    if plan is None:
        return None
    sampled = plan.mode is not SupervisionMode.FULLY_SUPERVISED and qa_sampled(
        c.request.interaction_id, plan.qa_sample_rate
    )
    if sampled:
        s.audit("qa_sampled", {"mode": plan.mode.value, "rate": plan.qa_sample_rate})
    started = parse_time(c.started_at)
    ended = parse_time(ended_at)
    waits = [(r.decided_at - r.held_since).total_seconds() for r in c.reviews if r.held_since]
    ai_end = parse_time(c.ai_ended_at) if c.ai_ended_at else ended
    ai_start = parse_time(c.ai_started_at) if c.ai_started_at else ai_end
    supervised = (
        max(0.0, (ai_end - ai_start).total_seconds())
        if plan.mode is SupervisionMode.FULLY_SUPERVISED
        else sum(waits)
    )
    facts = SupervisionFacts(
        interaction_id=c.request.interaction_id,
        intent=c.classification.intent if c.classification else "unknown",
        channel=c.channel.value,
        mode=plan.mode,
        started_at=started,
        ended_at=ended,
        supervised_seconds=round(supervised, 3),
        drafts_held=c.drafts_held,
        reviews=sum(1 for r in c.reviews if r.reviewer_id != DEADLINE_REVIEWER),
        review_wait_seconds=round(sum(waits), 3),
        triggers=list(c.supervision_triggers),
        deadline_escalations=sum(1 for r in c.reviews if r.reviewer_id == DEADLINE_REVIEWER),
        qa_sampled=sampled,
    )
    return RecordSupervision(facts=facts, reviews=list(c.reviews), overrides=list(c.overrides))
