"""Customer messages and the other requests that need the conversation: queued, then answered
one at a time and exactly once.

A message is redacted as it arrives. One that repeats a ``message_id`` gets the reply its first
copy got (or will get); any other queues behind the current job and becomes the next customer
turn, answered by whoever holds the interaction: the AI, or a hold notice while a human is on
the way, or the human (the message is forwarded). Channel switches re-route an AI conversation
with the classification already made and may hand it over.
"""

from __future__ import annotations

from models.abuse import LimitStage
from models.interaction import (
    ChannelSwitched,
    EscalationTrigger,
    InteractionState,
    Reply,
    Route,
    Sender,
)
from models.interaction_state import (
    CallbackInstead,
    Job,
    JobKind,
    Queued,
    QueuedHumanRequest,
    QueuedMessage,
    QueuedSwitch,
    WaitKind,
)
from models.lifecycle import (
    ChannelSwitchRequested,
    CommandFailed,
    CustomerMessageReceived,
    DeliverReply,
    DeliverSwitch,
    Event,
    HumanRequested,
    Triage,
    Triaged,
)
from warmline.lifecycle import (
    admission,
    ai_turn,
    handover,
    intake,
    jobs,
    redacting,
    regulation,
    screening,
    wording,
)
from warmline.lifecycle.transition import TRIAGE_SECONDS, Step
from warmline.redaction import redact


def closing(s: Step) -> bool:
    return s.state.closing is not None or s.state.state is InteractionState.CLOSED


def message_received(s: Step, e: CustomerMessageReceived) -> None:
    c = s.state
    safe_text = redact(e.text)
    refused = intake.refusal(c, safe_text, e.message_id)
    if refused is not None:
        s.refuse(e.ticket, refused.error_type, refused.reason)
        return
    if e.message_id and _repeated(s, e.message_id, e.ticket):
        return
    if closing(s):
        if e.ticket:
            closed = Reply(turn=c.turns, sender=Sender.SYSTEM, text=wording.CLOSED, kind="closing")
            s.emit(DeliverReply(ticket=e.ticket, reply=closed))
        s.ignore("message after the close was decided", record="customer_message")
        return
    tickets = [e.ticket] if e.ticket else []
    # Kept form: stable tokens, a split number masked (intake compares texts number-blind).
    safe = redacting.customer_text(s, e.text)
    c.inbox.append(QueuedMessage(text=safe, message_id=e.message_id, tickets=tickets))


def _repeated(s: Step, message_id: str, ticket: str | None) -> bool:
    """A message id seen before: its caller gets the first copy's reply, now or when ready.

    The notes (logged) quote the id redacted: a client may put anything in it."""
    c = s.state
    turn = c.turn_by_message_id.get(message_id)
    shown = redact(message_id)
    if turn is not None and turn in c.replies_by_turn:
        if ticket:
            s.emit(DeliverReply(ticket=ticket, reply=c.replies_by_turn[turn]))
        s.ignore(f"message {shown} is turn {turn}, already answered")
        return True
    if turn is not None and c.job is not None and c.job.turn == turn:
        if ticket:
            c.job.tickets.append(ticket)
        s.ignore(f"message {shown} is turn {turn}, being answered")
        return True
    for index, item in enumerate(c.inbox):
        if isinstance(item, QueuedMessage) and item.message_id == message_id:
            if ticket:
                c.inbox[index] = item.model_copy(update={"tickets": [*item.tickets, ticket]})
            s.ignore(f"message {shown} is already queued")
            return True
    return False


def human_requested(s: Step, e: HumanRequested) -> None:
    if closing(s):
        s.ignore("request_human after the close was decided", record="request_human")
        return
    if any(isinstance(item, QueuedHumanRequest) for item in s.state.inbox):
        s.ignore("request_human already queued", record="request_human")
        return
    request = QueuedHumanRequest(reason=redact(e.reason))
    if regulation.claims_right_to_human(s.state):
        s.state.inbox.insert(0, request)  # before queued messages: no AI turn in between
    else:
        s.state.inbox.append(request)


def switch_requested(s: Step, e: ChannelSwitchRequested) -> None:
    if closing(s):
        _unchanged(s, e.ticket, "the interaction closed before the switch")
        s.ignore("switch_channel after the close was decided", record="switch_channel")
        return
    too_many = intake.switch_refusal(s.state)
    if too_many is not None:
        _unchanged(s, e.ticket, too_many)
        s.ignore(too_many, record="switch_channel")
        return
    s.state.inbox.append(QueuedSwitch(channel=e.channel, reason=redact(e.reason), ticket=e.ticket))


def _unchanged(s: Step, ticket: str | None, why: str) -> None:
    c = s.state
    if ticket:
        route = c.decision.route if c.decision else Route.HUMAN
        answer = ChannelSwitched(
            channel=c.channel, previous_channel=c.channel, route=route, reasons=[why]
        )
        s.emit(DeliverSwitch(ticket=ticket, answer=answer))


def start(s: Step, item: Queued) -> None:
    """The next queued request gets the conversation."""
    match item:
        case QueuedMessage():
            _turn(s, item)
        case QueuedHumanRequest(reason=reason):
            handover.request_human(s, reason)
        case QueuedSwitch():
            _switch(s, item)


def answer_closed(s: Step, item: Queued) -> None:
    """A request still queued when the interaction closes: its caller hears so."""
    match item:
        case QueuedMessage(tickets=tickets):
            c = s.state
            closed = Reply(turn=c.turns, sender=Sender.SYSTEM, text=wording.CLOSED, kind="closing")
            for ticket in tickets:
                s.emit(DeliverReply(ticket=ticket, reply=closed))
        case QueuedSwitch(ticket=ticket):
            _unchanged(s, ticket, "the interaction closed before the switch")
        case QueuedHumanRequest():
            pass


def _turn(s: Step, item: QueuedMessage) -> None:
    job = jobs.begin_turn(s, item.text, item.message_id, list(item.tickets))
    if s.state.safety_gates:
        screen = screening.ahead(s)
        turn = ai_turn.ahead(s) if screen is not None else None
        admission.check(s, LimitStage.TURN, job.text, screen, turn=turn)
    else:
        answer_turn(s, job)


def answer_turn(s: Step, job: Job) -> None:
    """The turn is admitted: whoever holds the interaction answers it."""
    c = s.state
    if c.state is InteractionState.AI_ACTIVE:
        screening.begin_ai(s)
    elif c.state is InteractionState.AWAITING_HUMAN and c.callback_pending is not None:
        handover.consent_answered(s)
    elif (
        c.state is InteractionState.AWAITING_HUMAN
        and c.human.callback_offered
        and wording.accepts_callback(job.text)
    ):
        handover.propose_callback(
            s,
            "customer accepted the callback offer",
            wording.CALLBACK_CONFIRMED,
            CallbackInstead.WAIT,
            by_customer=True,
        )
    else:
        handover.forward(s)


def _switch(s: Step, item: QueuedSwitch) -> None:
    c = s.state
    previous = c.channel
    if item.channel is previous:
        _unchanged(s, item.ticket, f"already on channel {previous.value}")
        return
    c.channel = item.channel
    switch: dict[str, object] = {
        "at": s.at,
        "from": previous.value,
        "to": item.channel.value,
        "reason": item.reason,
    }
    c.channel_switches.append(switch)
    s.audit("channel_switch", switch)
    answer = ChannelSwitched(
        channel=item.channel,
        previous_channel=previous,
        route=c.decision.route if c.decision else Route.HUMAN,
        reasons=[f"channel switched from {previous.value} to {item.channel.value}"],
    )
    c.job = Job(
        kind=JobKind.SWITCH_CHANNEL, tickets=[item.ticket] if item.ticket else [], answer=answer
    )
    s.touch()
    if c.state is not InteractionState.AI_ACTIVE or c.pattern is None:
        jobs.end_quietly(s)
        return
    op = s.next_op()
    s.emit(Triage(op=op, timeout_seconds=TRIAGE_SECONDS, request=ai_turn.reroute_request(c)))
    s.wait(WaitKind.SWITCH_ROUTE, op, TRIAGE_SECONDS)


def on_switch_route(s: Step, result: Event) -> None:
    c, job = s.state, s.job
    assert job.answer is not None
    match result:
        case Triaged(result=triage):
            regulation.rechannel(s, triage.compliance)
            decision = triage.decision
            reasons = [*job.answer.reasons, *decision.reasons]
            s.record_decision(decision, reasons[:1])
            job.answer = job.answer.model_copy(update={"route": decision.route, "reasons": reasons})
            if decision.route is Route.HUMAN:
                trigger_detail = "; ".join(decision.reasons)
                handover.escalate(s, EscalationTrigger.CHANNEL_SWITCH, trigger_detail)
                return
            c.decision = decision
        case CommandFailed(error=error):
            reasons = [*job.answer.reasons, f"re-routing failed ({redact(error)}); route kept"]
            job.answer = job.answer.model_copy(update={"reasons": reasons})
        case _:
            s.ignore(f"{result.kind} does not answer a re-route")
            return
    jobs.end_quietly(s)
