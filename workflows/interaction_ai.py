"""The AI's side of a customer turn in ``InteractionWorkflow``: escalation checks around the
call, the call itself with fail-over to another healthy version, supervision gates, shadow
traffic. A mixin so the workflow module stays a readable sequence of lifecycle steps.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.interaction import InteractionActivities
    from models.ai import AIAction, AIReply, AIRequest, ChatTurn, ShadowRequest
    from models.interaction import (
        Channel,
        EscalationTrigger,
        OrchestrationPattern,
        Outcome,
        Reply,
        Sender,
    )
    from models.routing import RoutingDecision
    from models.supervision import TriggerAction
    from models.triage import TriageRequest
    from warmline.escalation import check_escalation
    from warmline.redaction import redact
    from workflows import interaction_text as text
    from workflows.interaction_base import (
        AI_RETRY,
        AI_TURN_TIMEOUT,
        DECISION_TIMEOUT,
        LOCAL_ACTIVITY_FAILURES,
    )
    from workflows.interaction_supervision import SupervisionMixin

FAILOVER_PATCH = "ai-failover-reroute"
"""Histories recorded before fail-over existed escalate at once when an AI call fails."""


class AITurnMixin(SupervisionMixin):
    async def _ai_turn(self, turn: int, safe_text: str) -> Reply:
        c = self.c
        decision = c.decision
        assert decision is not None and decision.ai_endpoint is not None
        policy = decision.escalation
        before = check_escalation(
            customer_text=safe_text,
            ai_turns=c.ai_turns,
            resolved=False,
            ai_action=None,
            ai_assessment=None,
            out_of_scope=False,
            policy=policy,
        )
        if before is not None:
            return await self._escalate(before.trigger, before.detail)
        gate = self._semi_autonomous_gate(safe_text)
        if gate is not None and gate.action is TriggerAction.HANDOVER:
            return await self._escalate(EscalationTrigger.SUPERVISION_TRIGGER, gate.detail)
        answer = await self._call_ai(turn, decision)
        # Patched: histories recorded before fail-over existed escalate at once on replay.
        if answer is None and workflow.patched(FAILOVER_PATCH):
            fallback = await self._fallback_decision(decision)
            if fallback is not None:
                decision = fallback
                answer = await self._call_ai(turn, decision)
        if answer is None:
            return await self._escalate(EscalationTrigger.AI_UNAVAILABLE, c.escalation_detail)
        c.ai_turns += 1
        c.usage.ai_calls += 1
        c.usage.ai_latency_ms_total += answer.latency_ms
        c.usage.ai_latency_ms_max = max(c.usage.ai_latency_ms_max, answer.latency_ms)
        c.last_model_version = answer.model_version
        c.usage.prompt_tokens += answer.prompt_tokens
        c.usage.completion_tokens += answer.completion_tokens
        c.usage.cost_usd += answer.cost_usd
        safe_answer = redact(answer.text)
        self._shadow_turn(turn, decision, answer.model_version, safe_answer)
        if answer.action is AIAction.ESCALATE and c.supervision is not None:
            # A supervised AI's parting words are unreviewed: hand over without them.
            safe_answer = ""
        why = self._review_needed(gate, safe_answer) if safe_answer else None
        if why is not None:
            reviewed = await self._review(turn, safe_answer, answer.model_version, why)
            if reviewed.sent_text is None:
                assert reviewed.trigger is not None
                return await self._escalate(reviewed.trigger, reviewed.detail)
            safe_answer = reviewed.sent_text
        if safe_answer:
            self._append(turn, Sender.AI, safe_answer)
        self._audit(
            "ai_response",
            {"turn": turn, "model_version": answer.model_version, "action": answer.action.value},
        )
        if answer.action is AIAction.RESOLVE:
            c.resolved_by_ai = True
            c.ai_ended_at = self._now()
            self._closing = Outcome.CONTAINED
            c.close_reason = "resolved_by_ai"
            return Reply(
                turn=turn,
                sender=Sender.AI,
                text=safe_answer,
                kind="closing",
                model_version=answer.model_version,
            )
        after = check_escalation(
            customer_text="",
            ai_turns=c.ai_turns,
            resolved=False,
            ai_action=answer.action,
            ai_assessment=answer.assessment,
            out_of_scope=False,
            policy=policy,
        )
        if after is not None:
            c.ai_assessment = redact(answer.assessment) if answer.assessment else None
            notice = await self._escalate(after.trigger, after.detail)
            return notice.model_copy(
                update={
                    "sender": Sender.AI,
                    "text": f"{safe_answer} {notice.text}".strip(),
                    "model_version": answer.model_version,
                }
            )
        return Reply(
            turn=turn, sender=Sender.AI, text=safe_answer, model_version=answer.model_version
        )

    async def _call_ai(self, turn: int, decision: RoutingDecision) -> AIReply | None:
        """One AI turn with retries; None when the endpoint failed for good (recorded)."""
        c = self.c
        assert decision.ai_endpoint is not None
        try:
            return await workflow.execute_local_activity_method(
                InteractionActivities.invoke_ai,
                AIRequest(
                    interaction_id=c.request.interaction_id,
                    turn=turn,
                    idempotency_key=(
                        f"{workflow.info().workflow_id}:turn-{turn}:"
                        f"{decision.ai_endpoint.name}:{decision.ai_endpoint.version}"
                    ),
                    endpoint=decision.ai_endpoint,
                    intent=c.classification.intent if c.classification else "unknown",
                    messages=self._chat_messages(),
                ),
                schedule_to_close_timeout=AI_TURN_TIMEOUT,
                retry_policy=AI_RETRY,
            )
        except LOCAL_ACTIVITY_FAILURES as err:
            c.usage.ai_calls += 1
            c.usage.ai_failures += 1
            detail = str(err.cause or err)
            c.escalation_detail = detail[:500]
            endpoint = f"{decision.ai_endpoint.name}:{decision.ai_endpoint.version}"
            self._audit("ai_failed", {"endpoint": endpoint, "error": detail})
            return None

    async def _reroute(self, pattern: OrchestrationPattern, channel: Channel) -> RoutingDecision:
        """Route again with the classification already made (fail-over, channel switch)."""
        c = self.c
        triage = await workflow.execute_local_activity_method(
            InteractionActivities.triage,
            TriageRequest(
                interaction_id=c.request.interaction_id,
                text="",
                channel=channel,
                segment=c.request.customer.segment,
                language=c.request.customer.language,
                region=c.request.customer.region,
                entry_point=c.request.entry_point,
                pattern=pattern,
                classification=c.classification,
            ),
            start_to_close_timeout=DECISION_TIMEOUT,
        )
        return triage.decision

    async def _fallback_decision(self, failed: RoutingDecision) -> RoutingDecision | None:
        """Re-route once after an endpoint failed: another healthy version may take the turn."""
        c = self.c
        if c.pattern is None or failed.ai_endpoint is None:
            return None
        new = await self._reroute(c.pattern, c.channel)
        old = failed.ai_endpoint
        if new.ai_endpoint is None or (new.ai_endpoint.name, new.ai_endpoint.version) == (
            old.name,
            old.version,
        ):
            return None
        reason = f"failover after {old.name}:{old.version} failed"
        self._record_decision(new, [reason])
        c.decision = new
        return new

    def _shadow_turn(
        self, turn: int, decision: RoutingDecision, live_version: str, live_text: str
    ) -> None:
        shadow = decision.shadow_endpoint
        if shadow is None:
            return
        c = self.c
        request = AIRequest(
            interaction_id=c.request.interaction_id,
            turn=turn,
            idempotency_key=f"{workflow.info().workflow_id}:shadow-{turn}",
            endpoint=shadow,
            intent=c.classification.intent if c.classification else "unknown",
            messages=self._chat_messages(),
        )
        self._shadows.append(
            workflow.start_activity_method(
                InteractionActivities.shadow_ai,
                ShadowRequest(
                    request=request, live_model_version=live_version, live_text=live_text
                ),
                start_to_close_timeout=timedelta(seconds=shadow.timeout_seconds + 5),
                retry_policy=RetryPolicy(maximum_attempts=2),
            )
        )

    async def _settle_shadows(self) -> None:
        pending, self._shadows = self._shadows, []
        for shadow in pending:
            with contextlib.suppress(ActivityError):
                await shadow

    def _chat_messages(self) -> list[ChatTurn]:
        role = {Sender.CUSTOMER: "user", Sender.AI: "assistant"}
        turns = [ChatTurn(role="system", content=text.SYSTEM_PROMPT)]
        turns += [
            ChatTurn(role=role[e.sender], content=e.text)
            for e in self.c.transcript
            if e.sender in role
        ]
        return turns
