"""Hand-over to humans: reservations, spillover, warm transfer, callbacks, ACD signals.

When a human must take over, the customer should never repeat themselves and never be lost:
the ACD receives the whole context, a crowded queue is protected (self-service, callbacks,
metered admission), and an ACD that stays unreachable still ends in a promised callback.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.interaction import InteractionActivities
    from models.acd import (
        CallbackRequest,
        ContextPackage,
        ForwardMessage,
        ReleaseReservation,
        ReservationAck,
        TransferRequest,
    )
    from models.interaction import (
        EscalationTrigger,
        HumanAccepted,
        HumanResolved,
        InteractionState,
        Outcome,
        Reply,
        Route,
        Sender,
    )
    from models.routing import RoutingDecision, SpilloverPolicy
    from models.supervision import HumanOverride, OverrideKind
    from warmline.lifecycle import wording as text
    from warmline.redaction import redact
    from warmline.self_service import self_service_answer
    from warmline.spillover import SpilloverAction, spillover_action
    from workflows.interaction_base import (
        ACD_CALL_TIMEOUT,
        ACD_RETRY,
        DECISION_TIMEOUT,
        InteractionBase,
        priority_of,
        signal_payload,
    )


class HandoverMixin(InteractionBase):
    def _takeover(self, agent_id: str) -> None:
        """A human taking a conversation from the AI is an override on the record."""
        c = self.c
        c.overrides.append(
            HumanOverride(
                interaction_id=c.request.interaction_id,
                seq=len(c.overrides) + 1,
                kind=OverrideKind.TAKEOVER,
                actor=agent_id,
                at=workflow.now(),
                ai_decision=f"AI handled {c.ai_turns} turn(s)",
                human_decision=f"agent {agent_id} took over",
                reason=c.escalation_trigger.value if c.escalation_trigger else None,
            )
        )

    async def _settle_reservation(
        self, pending: asyncio.Task[ReservationAck], decision: RoutingDecision
    ) -> None:
        c = self.c
        try:
            ack = await pending
        except ActivityError as err:
            self._audit("reservation_failed", {"error": str(err.cause or err)})
            return
        if decision.route is Route.HUMAN:
            c.human.reservation_id = ack.reservation_id
            return
        await workflow.execute_activity_method(
            InteractionActivities.release_reservation,
            ReleaseReservation(reservation_id=ack.reservation_id),
            start_to_close_timeout=ACD_CALL_TIMEOUT,
            schedule_to_close_timeout=timedelta(minutes=10),
            retry_policy=ACD_RETRY,
        )
        c.human.reservation_released = True
        c.human.saved_wait_seconds = ack.estimated_wait_seconds
        self._audit(
            "reservation_released",
            {
                "reservation_id": ack.reservation_id,
                "saved_wait_seconds": ack.estimated_wait_seconds,
            },
        )

    # -- hand-over to humans ---------------------------------------------------------------
    async def _escalate(self, trigger: EscalationTrigger, detail: str) -> Reply:
        """Warm transfer with the full context package (lock held); one per interaction."""
        c = self.c
        turn = c.turns
        if c.escalation_trigger is not None:
            return Reply(
                turn=turn, sender=Sender.SYSTEM, text=text.hold_notice(c.human), kind="hold_notice"
            )
        now = self._now()
        c.escalation_trigger = trigger
        c.escalation_detail = redact(detail)[:500]
        if c.ai_started_at and not c.ai_ended_at:
            c.ai_ended_at = now
        c.state = InteractionState.AWAITING_HUMAN
        c.human.requested_at = now
        decision = c.decision
        c.human.queue = (decision.human_queue if decision else None) or "general"
        self._audit(
            "escalation",
            {"trigger": trigger.value, "detail": c.escalation_detail, "queue": c.human.queue},
        )
        return await self._spill_or_transfer(buffered=False)

    async def _spill_or_transfer(self, buffered: bool) -> Reply:
        """Protect the human queue: deflect, call back, buffer, or transfer now (lock held)."""
        c = self.c
        turn = c.turns
        decision = c.decision
        policy = decision.spillover if decision else SpilloverPolicy()
        intent = c.classification.intent if c.classification else "unknown"
        capacity = await workflow.execute_local_activity_method(
            InteractionActivities.human_capacity,
            c.human.queue or "general",
            start_to_close_timeout=DECISION_TIMEOUT,
        )
        assert c.escalation_trigger is not None
        verdict = spillover_action(
            channel=c.channel,
            priority=priority_of(c.request.metadata.get("priority")),
            trigger=c.escalation_trigger,
            capacity=capacity,
            has_self_service=self_service_answer(intent) is not None,
            policy=policy,
            buffered=buffered,
        )
        if verdict.action is not SpilloverAction.TRANSFER or buffered:
            self._audit("spillover", {"action": verdict.action.value, "reasons": verdict.reasons})
        if verdict.action is SpilloverAction.DEFLECT:
            answer = self_service_answer(intent) or ""
            self._closing = Outcome.DEFLECTED
            c.close_reason = "deflected_to_self_service"
            return Reply(
                turn=turn, sender=Sender.SYSTEM, text=text.deflection_notice(answer), kind="closing"
            )
        if verdict.action is SpilloverAction.CALLBACK:
            wait = capacity.estimated_wait_seconds if capacity else 0.0
            await self._schedule_callback("voice wait too long: callback instead of hold")
            return Reply(
                turn=turn,
                sender=Sender.SYSTEM,
                text=text.voice_callback_notice(wait),
                kind="closing",
            )
        if verdict.action is SpilloverAction.BUFFER:
            c.human.buffered = True
            return Reply(
                turn=turn,
                sender=Sender.SYSTEM,
                text=text.buffered_notice(c.human),
                kind="hold_notice",
            )
        c.human.buffered = False
        return await self._transfer()

    async def _transfer(self) -> Reply:
        """The warm transfer itself: the ACD gets the whole context package."""
        c = self.c
        turn = c.turns
        decision = c.decision
        trigger = c.escalation_trigger
        assert trigger is not None
        classification = c.classification
        context = ContextPackage(
            interaction_id=c.request.interaction_id,
            workflow_id=workflow.info().workflow_id,
            channel=c.channel,
            customer=c.request.customer,
            intent=classification.intent if classification else "unknown",
            confidence=classification.confidence if classification else 0.0,
            transcript=list(c.transcript),
            ai_assessment=c.ai_assessment,
            trigger=trigger,
            trigger_detail=c.escalation_detail,
            priority=priority_of(c.request.metadata.get("priority")),
            metadata=dict(c.request.metadata),
        )
        try:
            ack = await workflow.execute_activity_method(
                InteractionActivities.warm_transfer,
                TransferRequest(
                    idempotency_key=f"{workflow.info().workflow_id}:transfer",
                    queue=c.human.queue or "general",
                    reservation_id=c.human.reservation_id,
                    context=context,
                ),
                start_to_close_timeout=ACD_CALL_TIMEOUT,
                schedule_to_close_timeout=timedelta(
                    seconds=decision.escalation.max_human_wait_seconds if decision else 1800
                ),
                retry_policy=ACD_RETRY,
            )
        except ActivityError as err:
            # The ACD stayed unreachable for the whole wait: never drop, promise a callback.
            self._audit("transfer_failed", {"error": str(err.cause or err)})
            self._closing = Outcome.CALLBACK
            c.close_reason = "acd_unreachable"
            return Reply(
                turn=turn, sender=Sender.SYSTEM, text=text.CALLBACK_CONFIRMED, kind="closing"
            )
        c.human.transfer_id = ack.transfer_id
        c.human.queue_position = ack.queue_position
        c.human.estimated_wait_seconds = ack.estimated_wait_seconds
        return Reply(
            turn=turn,
            sender=Sender.SYSTEM,
            text=text.handover_notice(c.human),
            kind="handover_notice",
        )

    async def _forward(self, turn: int, safe_text: str) -> None:
        c = self.c
        if not c.human.transfer_id:
            return
        await workflow.execute_activity_method(
            InteractionActivities.forward_to_human,
            ForwardMessage(transfer_id=c.human.transfer_id, turn=turn, text=safe_text),
            start_to_close_timeout=ACD_CALL_TIMEOUT,
            schedule_to_close_timeout=timedelta(minutes=10),
            retry_policy=ACD_RETRY,
        )

    async def _schedule_callback(self, reason: str) -> None:
        c = self.c
        await workflow.execute_activity_method(
            InteractionActivities.schedule_callback,
            CallbackRequest(
                idempotency_key=f"{workflow.info().workflow_id}:callback",
                interaction_id=c.request.interaction_id,
                queue=c.human.queue or "general",
                reason=reason,
            ),
            start_to_close_timeout=ACD_CALL_TIMEOUT,
            schedule_to_close_timeout=timedelta(hours=1),
            retry_policy=ACD_RETRY,
        )
        self._audit("callback_scheduled", {"reason": reason})
        self._closing = Outcome.CALLBACK
        c.close_reason = reason

    def _buffered_without_transfer(self) -> bool:
        human = self.c.human
        return human.buffered and human.transfer_id is None

    @workflow.signal(name="human_accepted")
    def human_accepted(self, payload: dict[str, Any]) -> None:
        accepted = signal_payload(HumanAccepted, payload, "human_accepted")
        if accepted is None:
            return
        c = self._c
        if c is None or c.state is not InteractionState.AWAITING_HUMAN:
            return
        c.state = InteractionState.WITH_HUMAN
        c.human.accepted_at = self._now()
        c.human.agent_id = accepted.agent_id
        self._append(c.turns, Sender.SYSTEM, text.agent_joined(accepted.agent_id))
        self._audit("human_accepted", {"agent_id": accepted.agent_id}, actor=accepted.agent_id)
        if c.ai_turns > 0:
            self._takeover(accepted.agent_id)
        self._touch()

    @workflow.signal(name="human_resolved")
    def human_resolved(self, payload: dict[str, Any]) -> None:
        resolved = signal_payload(HumanResolved, payload, "human_resolved")
        if resolved is None:
            return
        c = self._c
        if c is None or self._closing is not None:
            return
        if c.state not in (InteractionState.WITH_HUMAN, InteractionState.AWAITING_HUMAN):
            return
        now = self._now()
        c.human.accepted_at = c.human.accepted_at or now
        c.human.agent_id = c.human.agent_id or resolved.agent_id
        c.human.resolved_at = now
        c.csat = resolved.csat if resolved.csat is not None else c.csat
        self._audit(
            "human_resolved",
            {"agent_id": resolved.agent_id, "resolution": redact(resolved.resolution)},
            actor=resolved.agent_id,
        )
        self._closing = Outcome.HUMAN_ONLY if c.ai_turns == 0 else Outcome.ESCALATED
        c.close_reason = "resolved_by_human"
        self._touch()
