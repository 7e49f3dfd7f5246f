"""``InteractionWorkflow``: one customer interaction, from first words to a recorded outcome.

The workflow only sequences: pure modules decide (routing, escalation, closing) and
activities act. All state is one ``InteractionCarry``; customer text is redacted before it
is kept, and the state travels through continue-as-new so long e-mail threads and chats of
hundreds of turns keep a bounded history.

Why it runs outside Temporal's workflow sandbox (``sandboxed=False``): this is the one workflow
that runs once per customer contact, and the sandbox re-imports the workflow's module and
re-validates its class for every run and wraps every activation in its import machinery; on a
two-core worker that was about a third of the worker's event-loop time, the largest single cost
of starting an interaction (``bench/throughput``). The sandbox is a safety net, not what makes
a workflow deterministic; here the guarantees come from elsewhere: decisions are made in pure
modules, this code uses only ``workflow.*`` for time, randomness and waiting,
``tests/workflows/test_determinism_guard.py`` rejects clocks, randomness, I/O, threads and
environment reads in every workflow module, and every recorded history replays in the tests.
The long-running, low-volume workflows (rollouts, rollbacks, supervision phases) keep the
sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.interaction import InteractionActivities
    from models import search_attributes as sa
    from models.acd import ReservationAck, ReservationRequest
    from models.facts import ArchiveTranscript, RecordInteraction
    from models.interaction import (
        INTERACTION_WORKFLOW,
        AwaitReply,
        ChannelSwitched,
        CustomerMessage,
        EndInteraction,
        EscalationTrigger,
        InteractionInput,
        InteractionResult,
        InteractionState,
        OrchestrationPattern,
        Reply,
        RequestHuman,
        Route,
        Sender,
        StatusView,
        SwitchChannel,
    )
    from models.interaction_state import (
        RECENT_REPLIES_KEPT,
        TRANSCRIPT_KEPT_ON_CONTINUE,
        InteractionCarry,
    )
    from models.triage import FlushRun, PatternRequest, TriageRequest
    from warmline.closing import build_facts, default_outcome, final_pool, handle_segments
    from warmline.redaction import redact, redact_value
    from workflows import interaction_text as text
    from workflows.interaction_ai import AITurnMixin
    from workflows.interaction_base import (
        ACD_CALL_TIMEOUT,
        ACD_RETRY,
        DECISION_TIMEOUT,
        RECORD_RETRY,
        RECORD_TIMEOUT,
        RESERVATION_QUEUE_KEY,
        invalid,
        parse_time,
        signal_payload,
    )
    from workflows.interaction_handover import HandoverMixin


@workflow.defn(name=INTERACTION_WORKFLOW, sandboxed=False)
class InteractionWorkflow(AITurnMixin, HandoverMixin):
    # -- lifecycle -----------------------------------------------------------------------
    @workflow.run
    async def run(self, request: dict[str, Any]) -> InteractionResult:
        if isinstance(request, dict) and "continuation" in request:
            self._c = InteractionCarry.model_validate(request["continuation"])
            self._c.run_index += 1
            self._c.turns_this_run = 0
            self._closing = self._c.outcome
            self._routed = True
        else:
            try:
                parsed = InteractionInput.model_validate(request)
            except ValidationError as exc:
                raise invalid("InteractionInput", exc) from None
            now = self._now()
            safe = parsed.model_copy(
                update={
                    "first_message": redact(parsed.first_message),
                    "metadata": redact_value(parsed.metadata),
                }
            )
            self._c = InteractionCarry(
                request=safe, channel=safe.channel, started_at=now, last_activity_at=now
            )
            await self._open()
        await self._converse()
        return await self._close()

    async def _open(self) -> None:
        c = self.c
        choice = await workflow.execute_local_activity_method(
            InteractionActivities.select_pattern,
            PatternRequest(
                entry_point=c.request.entry_point,
                has_upstream_intent=c.request.upstream_intent is not None,
            ),
            start_to_close_timeout=DECISION_TIMEOUT,
        )
        c.pattern = choice.pattern
        reservation: asyncio.Task[ReservationAck] | None = None
        if choice.pattern is OrchestrationPattern.PARALLEL:
            # Ask the ACD for a human now; the AI may still win the race and release it.
            reservation = asyncio.ensure_future(
                workflow.execute_activity_method(
                    InteractionActivities.reserve_human,
                    ReservationRequest(
                        idempotency_key=f"{workflow.info().workflow_id}:reserve",
                        interaction_id=c.request.interaction_id,
                        workflow_id=workflow.info().workflow_id,
                        queue=str(c.request.metadata.get(RESERVATION_QUEUE_KEY, "general")),
                        channel=c.channel,
                    ),
                    start_to_close_timeout=ACD_CALL_TIMEOUT,
                    schedule_to_close_timeout=timedelta(seconds=30),
                    retry_policy=ACD_RETRY,
                )
            )
        triage = await workflow.execute_local_activity_method(
            InteractionActivities.triage,
            TriageRequest(
                interaction_id=c.request.interaction_id,
                text=c.request.first_message,
                channel=c.channel,
                segment=c.request.customer.segment,
                language=c.request.customer.language,
                region=c.request.customer.region,
                entry_point=c.request.entry_point,
                pattern=choice.pattern,
                upstream_intent=c.request.upstream_intent,
            ),
            start_to_close_timeout=DECISION_TIMEOUT,
        )
        c.classification = triage.classification
        c.decision = triage.decision
        self._record_decision(triage.decision, [choice.reason], classify_ms=triage.classify_ms)
        self._apply_plan(triage.supervision)
        if reservation is not None:
            await self._settle_reservation(reservation, triage.decision)
        self._routed = True
        async with self._lock:
            if triage.decision.route is Route.HUMAN:
                self._begin_turn(c.request.first_message, None)
                reply = await self._escalate(
                    EscalationTrigger.ROUTED_TO_HUMAN, "; ".join(triage.decision.reasons)
                )
                self._finish_turn(reply)
            else:
                c.state = InteractionState.AI_ACTIVE
                c.ai_started_at = self._now()
                await self._customer_turn(c.request.first_message, None)

    async def _converse(self) -> None:
        """Wait for the next thing that matters until something closes the interaction."""
        while self._closing is None:
            c = self.c
            if self._continue_as_new_due():
                await self._continue_as_new()
            seen = self._activity
            state = c.state

            def changed(seen: int = seen, state: InteractionState = state) -> bool:
                return (
                    self._closing is not None
                    or self._activity != seen
                    or self.c.state is not state
                    or self._continue_as_new_due()
                )

            timeout = self._next_deadline()
            try:
                await workflow.wait_condition(changed, timeout=timeout)
            except TimeoutError:
                await self._on_deadline()

    def _next_deadline(self) -> float | None:
        c = self.c
        policy = c.decision.escalation if c.decision else None
        if policy is None:
            return None
        now = workflow.now()
        if c.state is InteractionState.AI_ACTIVE:
            limit = policy.inactivity_timeout_seconds.get(c.channel.value, 900.0)
            idle = (now - parse_time(c.last_activity_at)).total_seconds()
            return max(0.001, limit - idle)
        if c.state is InteractionState.AWAITING_HUMAN and c.human.requested_at:
            waited = (now - parse_time(c.human.requested_at)).total_seconds()
            if not c.human.callback_offered:
                remaining = policy.human_accept_deadline_seconds - waited
            else:
                remaining = policy.max_human_wait_seconds - waited
            if self._buffered_without_transfer() and c.decision is not None:
                remaining = min(remaining, c.decision.spillover.admission_check_seconds)
            return max(0.001, remaining)
        return None

    async def _on_deadline(self) -> None:
        c = self.c
        if c.state is InteractionState.AI_ACTIVE:
            self._closing = default_outcome(c)
            c.close_reason = "inactivity"
            return
        if c.state is InteractionState.AWAITING_HUMAN:
            async with self._lock:
                if c.state is not InteractionState.AWAITING_HUMAN:
                    return
                policy = c.decision.escalation if c.decision else None
                assert policy is not None and c.human.requested_at is not None
                waited = (workflow.now() - parse_time(c.human.requested_at)).total_seconds()
                due = (
                    policy.human_accept_deadline_seconds
                    if not c.human.callback_offered
                    else policy.max_human_wait_seconds
                )
                if waited < due:
                    # Only the metering re-check is due: see whether the queue has room now.
                    reply = await self._spill_or_transfer(buffered=True)
                    if reply.kind != "hold_notice":
                        self._append(c.turns, Sender.SYSTEM, reply.text)
                    self._touch()
                    return
                if not c.human.callback_offered:
                    c.human.callback_offered = True
                    self._append(c.turns, Sender.SYSTEM, text.callback_offer(c.human))
                    self._audit("callback_offered", {"waited_for": "human_accept_deadline"})
                    self._touch()
                else:
                    await self._schedule_callback("no human accepted within the maximum wait")

    # -- customer turns ------------------------------------------------------------------
    def _begin_turn(self, safe_text: str, message_id: str | None) -> int:
        c = self.c
        c.turns += 1
        c.turns_this_run += 1
        if message_id:
            c.turn_by_message_id[message_id] = c.turns
        self._append(c.turns, Sender.CUSTOMER, safe_text)
        self._touch()
        return c.turns

    def _finish_turn(self, reply: Reply) -> Reply:
        c = self.c
        c.replies_by_turn[reply.turn] = reply
        if len(c.replies_by_turn) > RECENT_REPLIES_KEPT:
            for old in sorted(c.replies_by_turn)[:-RECENT_REPLIES_KEPT]:
                del c.replies_by_turn[old]
        self._touch()
        return reply

    async def _customer_turn(self, safe_text: str, message_id: str | None) -> Reply:
        """One customer message, answered by whoever holds the interaction now (lock held)."""
        c = self.c
        turn = self._begin_turn(safe_text, message_id)
        if c.state is InteractionState.AI_ACTIVE:
            reply = await self._ai_turn(turn, safe_text)
        elif c.state is InteractionState.AWAITING_HUMAN:
            if c.human.callback_offered and text.accepts_callback(safe_text):
                await self._schedule_callback("customer accepted the callback offer")
                reply = Reply(
                    turn=turn, sender=Sender.SYSTEM, text=text.CALLBACK_CONFIRMED, kind="closing"
                )
            else:
                await self._forward(turn, safe_text)
                reply = Reply(
                    turn=turn,
                    sender=Sender.SYSTEM,
                    text=text.hold_notice(c.human),
                    kind="hold_notice",
                )
        else:
            await self._forward(turn, safe_text)
            reply = Reply(
                turn=turn,
                sender=Sender.SYSTEM,
                text=text.DELIVERED_TO_HUMAN,
                kind="delivered_to_human",
            )
        if message_id:
            reply = reply.model_copy(update={"message_id": message_id})
        if reply.sender is Sender.SYSTEM:
            self._append(turn, Sender.SYSTEM, reply.text)
        return self._finish_turn(reply)

    def _continue_as_new_due(self) -> bool:
        c = self._c
        if c is None or self._closing is not None or c.decision is None:
            return False
        return (
            c.turns_this_run >= c.decision.max_turns_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _continue_as_new(self) -> None:
        """Move old turns and audit out of history, then start a fresh run with the state.

        The flush runs while handlers may still be active; entries they add stay in state.
        After it, the workflow waits for a quiet moment and continues-as-new in the same
        activation, so no handler can start in between and be cut off.
        """
        c = self.c
        await self._settle_shadows()
        archived = c.transcript[: max(0, len(c.transcript) - TRANSCRIPT_KEPT_ON_CONTINUE)]
        audit = list(c.pending_audit)
        if archived or audit:
            await workflow.execute_activity_method(
                InteractionActivities.flush_run,
                FlushRun(
                    archive=ArchiveTranscript(
                        interaction_id=c.request.interaction_id,
                        run_index=c.run_index,
                        entries=archived,
                    ),
                    audit=audit,
                ),
                start_to_close_timeout=ACD_CALL_TIMEOUT,
                schedule_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )
            c.transcript = c.transcript[len(archived) :]
            c.pending_audit = c.pending_audit[len(audit) :]
        await workflow.wait_condition(
            lambda: not self._lock.locked() and workflow.all_handlers_finished()
        )
        kept_turns = set(c.replies_by_turn)
        c.turn_by_message_id = {m: t for m, t in c.turn_by_message_id.items() if t in kept_turns}
        c.decisions = c.decisions[-20:]
        workflow.continue_as_new({"continuation": c.model_dump(mode="json")})

    async def _close(self) -> InteractionResult:
        c = self.c
        outcome = self._closing or default_outcome(c)
        c.outcome = outcome
        # Handlers already running (a last message, a late signal) finish before the close.
        await workflow.wait_condition(
            lambda: not self._lock.locked() and workflow.all_handlers_finished()
        )
        c.state = InteractionState.CLOSED
        await self._settle_shadows()
        if c.human.transfer_id and not c.human.resolved_at:
            # The customer left or was called back: free the ACD's line and agent.
            await workflow.execute_activity_method(
                InteractionActivities.withdraw_transfer,
                c.human.transfer_id,
                start_to_close_timeout=ACD_CALL_TIMEOUT,
                schedule_to_close_timeout=timedelta(hours=1),
                retry_policy=ACD_RETRY,
            )
            self._audit("transfer_withdrawn", {"transfer_id": c.human.transfer_id})
        ended = self._now()
        supervision = self._supervision_record(ended)
        self._audit("closed", {"outcome": outcome.value, "reason": c.close_reason})
        facts = build_facts(c, workflow.info().workflow_id, ended, outcome)
        workflow.upsert_search_attributes(
            [
                *self._search_attributes(),
                sa.INTERACTION_STATE.value_set(InteractionState.CLOSED.value),
                sa.POOL.value_set(facts.pool),
            ]
        )
        await workflow.execute_local_activity_method(
            InteractionActivities.record_interaction,
            RecordInteraction(
                facts=facts,
                audit=c.pending_audit,
                supervision=supervision,
                transcript=c.transcript,
                decisions=c.decisions,
            ),
            schedule_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        c.pending_audit = []
        return InteractionResult(
            interaction_id=c.request.interaction_id,
            outcome=outcome,
            pool=final_pool(c),
            intent=facts.intent,
            channel=c.channel,
            turns=c.turns,
            escalation_trigger=c.escalation_trigger,
            model_version=c.last_model_version,
            handle_seconds=handle_segments(c, ended),
            cost_usd=facts.cost_usd,
            tokens=facts.prompt_tokens + facts.completion_tokens,
            csat=c.csat,
        )

    # -- messages from clients -----------------------------------------------------------
    def _reject_if_closed(self) -> None:
        if self._closing is not None or (self._c and self._c.state is InteractionState.CLOSED):
            raise ApplicationError("interaction is closed", type="InteractionClosed")

    @workflow.update(name="send_message")
    async def send_message(self, payload: dict[str, Any]) -> Reply:
        message = CustomerMessage.model_validate(payload)
        await workflow.wait_condition(lambda: self._routed)
        async with self._lock:
            c = self.c
            earlier = c.turn_by_message_id.get(message.message_id or "")
            if earlier is not None and earlier in c.replies_by_turn:
                return c.replies_by_turn[earlier]
            if self._closing is not None:
                return Reply(turn=c.turns, sender=Sender.SYSTEM, text=text.CLOSED, kind="closing")
            return await self._customer_turn(redact(message.text), message.message_id)

    @send_message.validator
    def _validate_send_message(self, payload: dict[str, Any]) -> None:
        try:
            CustomerMessage.model_validate(payload)
        except ValidationError as exc:
            raise invalid("CustomerMessage", exc) from None
        self._reject_if_closed()

    @workflow.signal(name="customer_message")
    async def customer_message(self, payload: dict[str, Any]) -> None:
        message = signal_payload(CustomerMessage, payload, "customer_message")
        if message is None:
            return
        await workflow.wait_condition(lambda: self._routed)
        async with self._lock:
            c = self.c
            if self._closing is not None or (message.message_id or "") in c.turn_by_message_id:
                return
            await self._customer_turn(redact(message.text), message.message_id)

    @workflow.update(name="await_reply")
    async def await_reply(self, payload: dict[str, Any]) -> Reply:
        wanted = AwaitReply.model_validate(payload or {})
        await workflow.wait_condition(
            lambda: (
                self._c is not None
                and (wanted.turn in self._c.replies_by_turn or self._c.turns > wanted.turn)
            )
        )
        reply = self.c.replies_by_turn.get(wanted.turn)
        if reply is None:
            raise ApplicationError(f"reply to turn {wanted.turn} is no longer kept")
        return reply

    @await_reply.validator
    def _validate_await_reply(self, payload: dict[str, Any]) -> None:
        try:
            AwaitReply.model_validate(payload or {})
        except ValidationError as exc:
            raise invalid("AwaitReply", exc) from None

    @workflow.signal(name="request_human")
    async def request_human(self, payload: dict[str, Any] | None = None) -> None:
        ask = signal_payload(RequestHuman, payload or {}, "request_human") or RequestHuman()
        await workflow.wait_condition(lambda: self._routed)
        async with self._lock:
            if self._closing is None and self.c.state is InteractionState.AI_ACTIVE:
                reply = await self._escalate(EscalationTrigger.EXPLICIT_REQUEST, redact(ask.reason))
                self._append(self.c.turns, Sender.SYSTEM, reply.text)
                self._touch()

    @workflow.update(name="switch_channel")
    async def switch_channel(self, payload: dict[str, Any]) -> ChannelSwitched:
        switch = SwitchChannel.model_validate(payload)
        await workflow.wait_condition(lambda: self._routed)
        async with self._lock:
            c = self.c
            previous = c.channel
            c.channel = switch.channel
            c.channel_switches.append(
                {
                    "at": self._now(),
                    "from": previous.value,
                    "to": switch.channel.value,
                    "reason": redact(switch.reason),
                }
            )
            self._audit("channel_switch", c.channel_switches[-1])
            route = c.decision.route if c.decision else Route.HUMAN
            reasons: list[str] = [
                f"channel switched from {previous.value} to {switch.channel.value}"
            ]
            if c.state is InteractionState.AI_ACTIVE and c.pattern is not None:
                decision = await self._reroute(c.pattern, switch.channel)
                reasons += decision.reasons
                self._record_decision(decision, reasons[:1])
                route = decision.route
                if route is Route.HUMAN:
                    reply = await self._escalate(
                        EscalationTrigger.CHANNEL_SWITCH, "; ".join(decision.reasons)
                    )
                    self._append(c.turns, Sender.SYSTEM, reply.text)
                else:
                    c.decision = decision
            self._touch()
            return ChannelSwitched(
                channel=switch.channel, previous_channel=previous, route=route, reasons=reasons
            )

    @switch_channel.validator
    def _validate_switch_channel(self, payload: dict[str, Any]) -> None:
        try:
            switch = SwitchChannel.model_validate(payload)
        except ValidationError as exc:
            raise invalid("SwitchChannel", exc) from None
        self._reject_if_closed()
        if self._c is not None and switch.channel is self._c.channel:
            raise ApplicationError(
                f"interaction is already on channel {switch.channel.value}", type="InvalidInput"
            )

    @workflow.signal(name="end_interaction")
    def end_interaction(self, payload: dict[str, Any] | None = None) -> None:
        end = signal_payload(EndInteraction, payload or {}, "end_interaction") or EndInteraction()
        c = self._c
        if c is None or self._closing is not None:
            return
        if end.csat is not None:
            c.csat = end.csat
        c.close_reason = end.reason
        self._closing = default_outcome(c)
        self._touch()

    @workflow.query(name="status")
    def status(self) -> StatusView:
        c = self.c
        decision = c.decision
        return StatusView(
            interaction_id=c.request.interaction_id,
            state=c.state,
            channel=c.channel,
            pool=final_pool(c) if decision else None,
            pattern=c.pattern,
            intent=c.classification.intent if c.classification else None,
            confidence=c.classification.confidence if c.classification else None,
            transcript=list(c.transcript),
            decisions=list(c.decisions),
            channel_switches=list(c.channel_switches),
            escalation_trigger=c.escalation_trigger,
            run_count=c.run_index + 1,
            turns=c.turns,
            supervision_mode=c.supervision.mode.value if c.supervision else None,
            pending_draft=c.pending_draft.model_dump(mode="json") if c.pending_draft else None,
        )
