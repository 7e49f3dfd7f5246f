"""Hand-over to humans: escalation, spillover, warm transfer, callbacks, the ACD's signals.

When a human must take over, the customer never repeats themselves and is never lost: the ACD
receives the whole context, a crowded queue is protected (self-service, callbacks, metered
admission) and an ACD that stays unreachable still ends in a promised callback. One escalation per
interaction; later triggers only tell the customer they are still in line.
"""

from __future__ import annotations

from models import compliance as duty
from models.acd import CallbackRequest, ContextPackage, ForwardMessage, TransferRequest
from models.interaction import EscalationTrigger, InteractionState, Outcome, Sender
from models.interaction_state import (
    CallbackInstead,
    InteractionCarry,
    Job,
    JobKind,
    PendingCallback,
    ReservationStatus,
    WaitKind,
)
from models.lifecycle import (
    BookCallback,
    CapacityRead,
    CommandDone,
    CommandFailed,
    Event,
    ForwardToHuman,
    ReadCapacity,
    TransferAcked,
    TransferToHuman,
)
from models.routing import SpilloverPolicy
from models.supervision import HumanOverride, OverrideKind
from warmline.lifecycle import changes, jobs, regulation, wording
from warmline.lifecycle.transition import (
    CALLBACK_SECONDS,
    CAPACITY_SECONDS,
    DEFAULT_TRANSFER_SECONDS,
    FORWARD_SECONDS,
    Step,
    idempotency_key,
)
from warmline.redaction import redact
from warmline.self_service import self_service_answer
from warmline.spillover import SpilloverAction, spillover_action

DEFAULT_QUEUE = "general"
ACD_REJECTED = "AcdRejected"
"""The ACD client's failure type for a request the ACD refused (a 4xx): retrying it as is
would fail the same way."""


def priority_of(value: object) -> int:
    try:
        return min(9, max(0, int(str(value))))
    except (TypeError, ValueError):
        return 5


def set_outcome(s: Step, outcome: Outcome, reason: str) -> None:
    s.state.closing = outcome
    s.state.close_reason = reason


def escalate(s: Step, trigger: EscalationTrigger, detail: str) -> None:
    """Hand the current job's conversation to a human (the job ends with the notice)."""
    c = s.state
    if c.escalation_trigger is not None:
        return jobs.reply(s, wording.hold_notice(c.human), "hold_notice")
    c.escalation_trigger = trigger
    c.escalation_detail = redact(detail)[:500]
    if c.ai_started_at and not c.ai_ended_at:
        c.ai_ended_at = s.at
    c.state = InteractionState.AWAITING_HUMAN
    c.human.requested_at = s.at
    c.human.queue = (c.decision.human_queue if c.decision else None) or DEFAULT_QUEUE
    s.audit(
        "escalation",
        {"trigger": trigger.value, "detail": c.escalation_detail, "queue": c.human.queue},
    )
    if trigger is EscalationTrigger.EXPLICIT_REQUEST and regulation.right_to_human(
        s, c.escalation_detail
    ):
        # Honoured at once: no deflection, callback offer or buffering in between.
        s.audit("spillover", {"action": "transfer", "reasons": ["right to a human: at once"]})
        return _transfer(s)
    _read_capacity(s, buffered=False)


def request_human(s: Step, reason: str) -> None:
    """A queued ``request_human``: only an AI conversation has someone to hand over."""
    c = s.state
    pending = c.callback_pending
    if pending is not None and c.state is InteractionState.AWAITING_HUMAN:
        # The customer wants a person, not the callback we asked about: stay in the queue.
        c.job = Job(kind=JobKind.REQUEST_HUMAN)
        if regulation.human_instead_of_callback(s, reason):
            c.callback_pending = None
            return _instead(s, pending.instead)
        return jobs.end_quietly(s)
    if c.state is not InteractionState.AI_ACTIVE:
        return s.ignore(f"request_human while {c.state.value}: nothing to hand over")
    c.job = Job(kind=JobKind.REQUEST_HUMAN)
    escalate(s, EscalationTrigger.EXPLICIT_REQUEST, reason)


def _read_capacity(s: Step, buffered: bool) -> None:
    op = s.next_op()
    queue = s.state.human.queue or DEFAULT_QUEUE
    s.emit(ReadCapacity(op=op, timeout_seconds=CAPACITY_SECONDS, queue=queue))
    s.wait(WaitKind.CAPACITY, op, CAPACITY_SECONDS, buffered=buffered)


def on_capacity(s: Step, result: Event) -> None:
    """Protect the human queue: deflect, call back, buffer, or transfer now."""
    match result:
        case CapacityRead(capacity=capacity):
            pass
        case CommandFailed():
            capacity = None  # unknown capacity transfers, as the policy says
        case _:
            return s.ignore(f"{result.kind} does not answer a capacity read")
    c = s.state
    if c.state is not InteractionState.AWAITING_HUMAN or c.human.resolved_at:
        # A human took it (or resolved it) while the queue was read: nothing left to protect.
        return jobs.reply(s, wording.handover_notice(c.human), "handover_notice")
    buffered = s.job.wait.buffered if s.job.wait else False
    policy = c.decision.spillover if c.decision else SpilloverPolicy()
    intent = c.classification.intent if c.classification else "unknown"
    verdict = spillover_action(
        channel=c.channel,
        priority=priority_of(c.request.metadata.get("priority")),
        trigger=c.escalation_trigger or EscalationTrigger.EXPLICIT_REQUEST,
        capacity=capacity,
        has_self_service=self_service_answer(intent) is not None,
        policy=policy,
        buffered=buffered,
    )
    if verdict.action is not SpilloverAction.TRANSFER or buffered:
        s.audit("spillover", {"action": verdict.action.value, "reasons": verdict.reasons})
    match verdict.action:
        case SpilloverAction.DEFLECT:
            set_outcome(s, Outcome.DEFLECTED, "deflected_to_self_service")
            answer = self_service_answer(intent) or ""
            jobs.reply(s, wording.deflection_notice(answer), "closing")
        case SpilloverAction.CALLBACK:
            wait = capacity.estimated_wait_seconds if capacity else 0.0
            notice = wording.voice_callback_notice(wait)
            reason = "voice wait too long: callback instead of hold"
            propose_callback(s, reason, notice, CallbackInstead.TRANSFER)
        case SpilloverAction.BUFFER:
            c.human.buffered = True
            c.human.next_admission_at = s.after(policy.admission_check_seconds)
            jobs.reply(s, wording.buffered_notice(c.human), "hold_notice")
        case _:
            c.human.buffered = False
            c.human.next_admission_at = None
            _transfer(s)


def _transfer(s: Step) -> None:
    """The warm transfer itself: the ACD gets the whole context package."""
    c = s.state
    classification = c.classification
    priority = priority_of(c.request.metadata.get("priority"))
    context = ContextPackage(
        interaction_id=c.request.interaction_id,
        workflow_id=c.workflow_id,
        channel=c.channel,
        customer=c.request.customer,
        intent=classification.intent if classification else "unknown",
        confidence=classification.confidence if classification else 0.0,
        transcript=list(c.transcript),
        ai_assessment=c.ai_assessment,
        trigger=c.escalation_trigger or EscalationTrigger.EXPLICIT_REQUEST,
        trigger_detail=c.escalation_detail,
        priority=priority,
        metadata=dict(c.request.metadata),
    )
    held = c.human.reservation is ReservationStatus.HELD
    seconds = (
        c.decision.escalation.max_human_wait_seconds if c.decision else DEFAULT_TRANSFER_SECONDS
    )
    op = s.next_op()
    request = TransferRequest(
        idempotency_key=idempotency_key(c, "transfer"),
        queue=c.human.queue or DEFAULT_QUEUE,
        reservation_id=c.human.reservation_id if held else None,
        context=context,
    )
    s.emit(TransferToHuman(op=op, timeout_seconds=seconds, request=request))
    s.wait(WaitKind.TRANSFER, op, seconds)


def on_transfer(s: Step, result: Event) -> None:
    c = s.state
    match result:
        case TransferAcked(ack=ack):
            c.human.transfer_id = ack.transfer_id
            c.human.queue_position = ack.queue_position
            c.human.estimated_wait_seconds = ack.estimated_wait_seconds
            if c.human.reservation is ReservationStatus.HELD:
                c.human.reservation = ReservationStatus.CONVERTED
            jobs.reply(s, wording.handover_notice(c.human), "handover_notice")
        case CommandFailed(error=error, error_type=kind) if changes.made(c, changes.ACD_OUTCOMES):
            # The ACD never took the transfer: never drop the customer. A queue it refused
            # (a 4xx: unknown, closed) is tried once more as the default queue; otherwise a
            # real callback is booked (whose own failure is told truthfully, ``on_callback``).
            s.audit("transfer_failed", {"error": redact(error), "queue": c.human.queue})
            queue = c.human.queue or DEFAULT_QUEUE
            if (
                kind == ACD_REJECTED
                and queue != DEFAULT_QUEUE
                and changes.made(c, changes.TRANSFER_REROUTE)
            ):
                s.audit("transfer_rerouted", {"from": queue, "to": DEFAULT_QUEUE})
                c.human.queue = DEFAULT_QUEUE
                return _transfer(s)
            notice = wording.CALLBACK_CONFIRMED
            propose_callback(s, "acd_unreachable", notice, CallbackInstead.CLOSE)
        case CommandFailed(error=error):
            # Histories recorded before ``ACD_OUTCOMES``: promised, nothing booked.
            s.audit("transfer_failed", {"error": redact(error)})
            set_outcome(s, Outcome.CALLBACK, "acd_unreachable")
            jobs.reply(s, wording.CALLBACK_CONFIRMED, "closing")
        case _:
            s.ignore(f"{result.kind} does not answer a transfer")


def propose_callback(
    s: Step,
    reason: str,
    notice: str,
    instead: CallbackInstead,
    *,
    ask: bool = True,
    lead: str = "",
    by_customer: bool = False,
    closing_text: str = wording.NO_CALLBACK_NO_AGENT,
) -> None:
    """A callback the interaction wants: booked at once only where no consent is needed or a
    yes is on record; otherwise the consent question is asked (the customer's next message
    answers, ``consent_answered``) or, after a no, ``instead`` happens."""
    c = s.state
    decided = regulation.propose_callback(s, ask=ask, by_customer=by_customer)
    match decided:
        case None | duty.BookContact():
            book_callback(s, reason, notice)
        case duty.AskConsent(text=question):
            c.callback_pending = PendingCallback(reason=reason, notice=notice, instead=instead)
            _ask(s, f"{lead} {question}".strip())
        case duty.DeclineContact():
            c.callback_pending = None
            _instead(s, instead, closing_text)
        case _:
            s.ignore(f"{decided.kind} does not decide a callback")


def consent_answered(s: Step) -> None:
    """The customer's message answers the pending consent question."""
    c, job = s.state, s.job
    pending = c.callback_pending
    assert pending is not None
    decided = regulation.consent_answered(s, job.text, job.message_id)
    match decided:
        case duty.BookContact():
            c.callback_pending = None
            book_callback(s, pending.reason, pending.notice or wording.CALLBACK_CONFIRMED)
        case duty.AskConsent(text=question):
            jobs.reply(s, question, "consent_request")
        case duty.DeclineContact():
            c.callback_pending = None
            _instead(s, pending.instead)
        case _:
            # Nothing was pending in the machine after all: an ordinary message.
            c.callback_pending = None
            forward(s)


def _ask(s: Step, question: str) -> None:
    """The consent question reaches the customer: as the turn's reply, or in the transcript
    when no customer turn is being answered (a deadline)."""
    c = s.state
    if not _turnless(c):
        return jobs.reply(s, question, "consent_request")
    s.append(c.turns, Sender.SYSTEM, question)
    s.touch()
    if c.job is not None:
        jobs.end_quietly(s)


def _turnless(c: InteractionCarry) -> bool:
    """No one waits for a reply: what is said goes to the transcript only."""
    return c.job is None or c.job.kind in (JobKind.MAX_WAIT, JobKind.CALLBACK_OFFER)


def _instead(
    s: Step, instead: CallbackInstead, closing_text: str = wording.NO_CALLBACK_NO_AGENT
) -> None:
    """No consent to call back: what happens instead, said to the customer."""
    c = s.state
    match instead:
        case CallbackInstead.TRANSFER:
            return _transfer(s)
        case CallbackInstead.WAIT:
            text = wording.STAY_IN_QUEUE
        case CallbackInstead.CLOSE:
            set_outcome(s, Outcome.ABANDONED, "no_callback_consent")
            text = closing_text
    if not _turnless(c):
        return jobs.reply(s, text, "closing" if instead is CallbackInstead.CLOSE else "hold_notice")
    s.append(c.turns, Sender.SYSTEM, text)
    s.touch()
    if c.job is not None:
        jobs.end_quietly(s)


def book_callback(s: Step, reason: str, notice: str) -> None:
    c = s.state
    op = s.next_op()
    request = CallbackRequest(
        idempotency_key=idempotency_key(c, "callback"),
        interaction_id=c.request.interaction_id,
        queue=c.human.queue or DEFAULT_QUEUE,
        reason=reason,
    )
    s.emit(BookCallback(op=op, timeout_seconds=CALLBACK_SECONDS, request=request))
    s.wait(WaitKind.CALLBACK, op, CALLBACK_SECONDS, reason=reason, notice=notice)


def on_callback(s: Step, result: Event) -> None:
    wait = s.job.wait
    assert wait is not None
    match result:
        case CommandDone():
            s.audit("callback_scheduled", {"reason": wait.reason})
            set_outcome(s, Outcome.CALLBACK, wait.reason)
        case CommandFailed(error=error):
            # Recorded as a callback still owed: the facts say so, an operator follows up; the
            # customer hears that nothing is booked rather than a promise.
            s.audit("callback_failed", {"reason": wait.reason, "error": redact(error)})
            set_outcome(s, Outcome.CALLBACK, "callback_booking_failed")
            if changes.made(s.state, changes.ACD_OUTCOMES):
                if s.job.kind is not JobKind.TURN:
                    s.append(s.state.turns, Sender.SYSTEM, wording.CALLBACK_NOT_BOOKED)
                    return jobs.end_quietly(s)
                return jobs.reply(s, wording.CALLBACK_NOT_BOOKED, "closing")
        case _:
            return s.ignore(f"{result.kind} does not answer a callback booking")
    if wait.notice:
        jobs.reply(s, wait.notice, "closing")
    else:
        jobs.end_quietly(s)


def forward(s: Step) -> None:
    """A customer message while a human has (or is about to have) the conversation."""
    c = s.state
    job = s.job
    if not c.human.transfer_id or job.turn is None:
        return _forwarded(s)
    op = s.next_op()
    message = ForwardMessage(transfer_id=c.human.transfer_id, turn=job.turn, text=job.text)
    s.emit(ForwardToHuman(op=op, timeout_seconds=FORWARD_SECONDS, message=message))
    s.wait(WaitKind.FORWARD, op, FORWARD_SECONDS)


def on_forward(s: Step, result: Event) -> None:
    match result:
        case CommandDone():
            pass
        case CommandFailed(error=error):
            s.audit("forward_failed", {"turn": s.job.turn, "error": redact(error)})
            # Never "delivered" when it was not: the customer knows to say it again.
            return jobs.reply(s, wording.NOT_DELIVERED, "not_delivered")
        case _:
            return s.ignore(f"{result.kind} does not answer a forward")
    _forwarded(s)


def _forwarded(s: Step) -> None:
    human = s.state.human
    if s.state.state is InteractionState.AWAITING_HUMAN:
        jobs.reply(s, wording.hold_notice(human), "hold_notice")
    else:
        jobs.reply(s, wording.DELIVERED_TO_HUMAN, "delivered_to_human")


# -- waiting for a human (deadlines) ---------------------------------------------------------


def offer_callback(s: Step) -> None:
    c = s.state
    c.human.callback_offered = True
    if regulation.consent_needed(c):
        # The offer is the consent question; one already waiting for its answer is enough.
        if c.callback_pending is None:
            s.audit("callback_offered", {"waited_for": "human_accept_deadline"})
            c.job = Job(kind=JobKind.CALLBACK_OFFER)
            propose_callback(
                s,
                "customer accepted the callback offer",
                wording.CALLBACK_CONFIRMED,
                CallbackInstead.WAIT,
                lead=wording.CALLBACK_OFFER_LEAD,
            )
        return
    s.append(c.turns, Sender.SYSTEM, wording.callback_offer(c.human))
    s.audit("callback_offered", {"waited_for": "human_accept_deadline"})
    s.touch()


def admit(s: Step) -> None:
    """A buffered hand-over asks the queue for room again."""
    s.state.job = Job(kind=JobKind.ADMISSION)
    _read_capacity(s, buffered=True)


def give_up_waiting(s: Step) -> None:
    c = s.state
    c.job = Job(kind=JobKind.MAX_WAIT)
    reason = "no human accepted within the maximum wait"
    if regulation.active(c):
        # No time left to ask: booked only with a yes on record.
        c.callback_pending = None
        return propose_callback(
            s, reason, "", CallbackInstead.CLOSE, ask=False, closing_text=wording.NO_AGENT_IN_TIME
        )
    book_callback(s, reason, notice="")


# -- the ACD's signals -----------------------------------------------------------------------


def agent_accepted(s: Step, agent_id: str, transfer_id: str | None = None) -> None:
    c = s.state
    if c.state is not InteractionState.AWAITING_HUMAN:
        return s.ignore(f"human_accepted while {c.state.value}")
    if transfer_id and c.human.transfer_id and transfer_id != c.human.transfer_id:
        # Names another transfer (a stale or forged signal): not this interaction's agent.
        return s.ignore("human_accepted names another transfer", record="human_accepted")
    c.state = InteractionState.WITH_HUMAN
    c.human.accepted_at = s.at
    c.human.agent_id = agent_id
    if c.callback_pending is not None:
        regulation.withdraw_question(s, f"agent {agent_id} joined")
    s.append(c.turns, Sender.SYSTEM, wording.agent_joined(agent_id))
    s.audit("human_accepted", {"agent_id": agent_id}, actor=agent_id)
    if c.ai_turns > 0:
        # A human taking a conversation from the AI is an override on the record.
        c.overrides.append(
            HumanOverride(
                interaction_id=c.request.interaction_id,
                seq=len(c.overrides) + 1,
                kind=OverrideKind.TAKEOVER,
                actor=agent_id,
                at=s.now,
                ai_decision=f"AI handled {c.ai_turns} turn(s)",
                human_decision=f"agent {agent_id} took over",
                reason=c.escalation_trigger.value if c.escalation_trigger else None,
            )
        )
    s.touch()


def agent_resolved(s: Step, agent_id: str, resolution: str, csat: int | None) -> None:
    c = s.state
    if c.closing is not None:
        return s.ignore("human_resolved after the close was decided")
    if c.state not in (InteractionState.WITH_HUMAN, InteractionState.AWAITING_HUMAN):
        return s.ignore(f"human_resolved while {c.state.value}")
    c.human.accepted_at = c.human.accepted_at or s.at
    c.human.agent_id = c.human.agent_id or agent_id
    c.human.resolved_at = s.at
    c.csat = csat if csat is not None else c.csat
    s.audit(
        "human_resolved",
        {"agent_id": agent_id, "resolution": redact(resolution)},
        actor=agent_id,
    )
    set_outcome(
        s, Outcome.HUMAN_ONLY if c.ai_turns == 0 else Outcome.ESCALATED, "resolved_by_human"
    )
    s.touch()
