"""Human oversight of the AI inside one interaction: supervision modes, held drafts, reviews.

Fully supervised drafts never reach the customer unapproved: they wait for a supervisor's
``review_response`` signal, findable through the ``WarmlinePendingReview`` search attribute.
Semi-autonomous conversations stop for approval or a hand-over when a trigger fires; fully
autonomous ones are sampled for QA after the fact. Every human decision is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models import search_attributes as sa
    from models.interaction import EscalationTrigger, InteractionState
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
    from warmline.redaction import redact
    from warmline.sentiment import sentiment_score
    from warmline.supervision import qa_sampled, semi_autonomous_check
    from workflows.interaction_base import InteractionBase, parse_time, signal_payload

DEADLINE_REVIEWER = "warmline"


class ReviewOutcome(BaseModel):
    """What the customer gets after a review; ``sent_text`` None means a human takes over."""

    sent_text: str | None
    trigger: EscalationTrigger | None = None
    detail: str = ""


class SupervisionMixin(InteractionBase):
    def _apply_plan(self, plan: SupervisionPlan | None) -> None:
        c = self.c
        c.supervision = plan
        if plan is not None:
            self._audit(
                "supervision_mode",
                {"mode": plan.mode.value, "reason": plan.reason, "policy": plan.policy_version},
            )

    def _search_attributes(self) -> list[Any]:
        """Intent and mode, upserted only when someone needs to find the interaction (a held
        draft, the close): a visibility write per routing would halve throughput."""
        c = self.c
        updates: list[Any] = [
            sa.INTENT.value_set(c.classification.intent if c.classification else "unknown")
        ]
        if c.supervision is not None:
            updates.append(sa.SUPERVISION_MODE.value_set(c.supervision.mode.value))
        return updates

    def _semi_autonomous_gate(self, safe_text: str) -> SemiAutonomousTrigger | None:
        """Before the AI answers: does this turn need a human's approval or the human?"""
        c = self.c
        plan = c.supervision
        if plan is None or plan.mode is not SupervisionMode.SEMI_AUTONOMOUS:
            return None
        duration = (workflow.now() - parse_time(c.started_at)).total_seconds()
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
            self._audit(
                "supervision_trigger",
                {
                    "kind": trigger.kind.value,
                    "action": trigger.action.value,
                    "detail": trigger.detail,
                },
            )
        return trigger

    def _review_needed(self, approval: SemiAutonomousTrigger | None, draft: str) -> str | None:
        """Why this draft must wait for a supervisor, or None to send it now."""
        plan = self.c.supervision
        if plan is None:
            return None
        if plan.mode is SupervisionMode.FULLY_SUPERVISED:
            return "fully supervised"
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

    async def _review(
        self, turn: int, draft: str, model_version: str | None, why: str
    ) -> ReviewOutcome:
        """Hold the draft until a supervisor decides or the deadline passes (lock held)."""
        c = self.c
        plan = c.supervision
        assert plan is not None
        c.drafts_held += 1
        draft_id = f"{turn}-{c.drafts_held}"
        held_at = workflow.now()
        c.pending_draft = PendingDraft(draft_id=draft_id, turn=turn, text=draft, created_at=held_at)
        workflow.upsert_search_attributes(
            [
                *self._search_attributes(),
                sa.PENDING_REVIEW.value_set(True),
                sa.REVIEW_SINCE.value_set(held_at),
            ]
        )
        self._audit("draft_held", {"draft_id": draft_id, "turn": turn, "why": why})
        self._touch()
        try:
            await workflow.wait_condition(
                lambda: draft_id in self._review_inbox, timeout=plan.review_deadline_seconds
            )
            response: ReviewResponse | None = self._review_inbox.pop(draft_id)
        except TimeoutError:
            response = None
        c.pending_draft = None
        workflow.upsert_search_attributes([sa.PENDING_REVIEW.value_set(False)])
        return self._settle_review(draft_id, turn, draft, model_version, held_at, why, response)

    def _settle_review(
        self,
        draft_id: str,
        turn: int,
        draft: str,
        model_version: str | None,
        held_at: datetime,
        why: str,
        response: ReviewResponse | None,
    ) -> ReviewOutcome:
        c = self.c
        plan = c.supervision
        assert plan is not None
        decision = response.decision if response else ReviewDecision.REJECT
        reviewer = response.reviewer_id if response else DEADLINE_REVIEWER
        reason = (response.reason if response else None) or (
            None if response else "review deadline passed"
        )
        sent: str | None = None
        if decision is ReviewDecision.APPROVE:
            sent = draft
        elif decision is ReviewDecision.EDIT and response and response.edited_text:
            sent = redact(response.edited_text)
        c.reviews.append(
            ReviewRecord(
                interaction_id=c.request.interaction_id,
                draft_id=draft_id,
                decision=decision,
                reviewer_id=reviewer,
                decided_at=workflow.now(),
                held_since=held_at,
                intent=c.classification.intent if c.classification else "unknown",
                channel=c.channel.value,
                mode=plan.mode,
                model_version=model_version,
                turn=turn,
                draft_text=draft,
                sent_text=sent,
                reason=redact(reason) if reason else None,
                trigger=None if why == "fully supervised" else why,
            )
        )
        self._audit(
            "review_decision",
            {
                "draft_id": draft_id,
                "decision": decision.value,
                "changed": sent is not None and sent != draft,
                "reason": redact(reason) if reason else None,
            },
            actor=reviewer,
        )
        if response is not None and decision is not ReviewDecision.APPROVE:
            self._override(
                OverrideKind.DRAFT_REPLACED
                if decision is ReviewDecision.EDIT
                else OverrideKind.ROUTING_OVERRIDE,
                reviewer,
                ai_decision=draft,
                human_decision=sent or "rejected: hand to a human agent",
                reason=reason,
            )
        if response is None:
            return ReviewOutcome(
                sent_text=None,
                trigger=EscalationTrigger.REVIEW_TIMEOUT,
                detail=f"draft {draft_id} not reviewed within {plan.review_deadline_seconds:g}s",
            )
        if sent is None:
            return ReviewOutcome(
                sent_text=None,
                trigger=EscalationTrigger.SUPERVISOR_REJECTED,
                detail=f"{reviewer} rejected draft {draft_id}: {reason or 'no reason given'}",
            )
        return ReviewOutcome(sent_text=sent)

    def _override(
        self,
        kind: OverrideKind,
        actor: str,
        *,
        ai_decision: str,
        human_decision: str,
        reason: str | None,
    ) -> None:
        c = self.c
        c.overrides.append(
            HumanOverride(
                interaction_id=c.request.interaction_id,
                seq=len(c.overrides) + 1,
                kind=kind,
                actor=actor,
                at=workflow.now(),
                ai_decision=ai_decision[:2000],
                human_decision=human_decision[:2000],
                reason=redact(reason) if reason else None,
            )
        )

    def _supervision_record(self, ended_at: str) -> RecordSupervision | None:
        c = self.c
        plan = c.supervision
        if plan is None:
            return None
        sampled = plan.mode is not SupervisionMode.FULLY_SUPERVISED and qa_sampled(
            c.request.interaction_id, plan.qa_sample_rate
        )
        if sampled:
            self._audit("qa_sampled", {"mode": plan.mode.value, "rate": plan.qa_sample_rate})
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

    @workflow.signal(name="review_response")
    def review_response(self, payload: dict[str, Any]) -> None:
        response = signal_payload(ReviewResponse, payload, "review_response")
        if response is None:
            return
        c = self._c
        pending = c.pending_draft if c else None
        if c is None or c.state is InteractionState.CLOSED or pending is None:
            self._audit_ignored(response, "no draft is waiting for review")
            return
        if pending.draft_id != response.draft_id:
            self._audit_ignored(response, f"draft {pending.draft_id} is the one waiting")
            return
        self._review_inbox[response.draft_id] = response

    def _audit_ignored(self, response: ReviewResponse, why: str) -> None:
        if self._c is not None:
            self._audit(
                "review_ignored",
                {"draft_id": response.draft_id, "why": why},
                actor=response.reviewer_id,
            )
