"""``step``: the interaction's only state change, and the scheduler behind it.

Every event goes to the part of the lifecycle it concerns; command results go to the job waiting
for them (matched by ``op``, so a late or repeated result changes nothing). After the event the
scheduler starts the next piece of work if the conversation is free: the close once it is decided,
else the next queued request, else a continue-as-new that is due. The machine is total: any event
in any state has a defined result, at worst "ignored" with the reason in ``Transition.note``.
"""

from __future__ import annotations

from collections.abc import Callable

from models.interaction_state import InteractionCarry, JobKind, WaitKind
from models.lifecycle import (
    AdmissionChecked,
    AgentAccepted,
    AgentResolved,
    ChannelSwitchRequested,
    CommandFailed,
    CommandResult,
    ContinueAsNewSuggested,
    Continued,
    CustomerMessageReceived,
    DeadlineReached,
    EndRequested,
    Event,
    HumanRequested,
    InputRejected,
    ReviewDecided,
    Started,
    TransferAcked,
    WithdrawTransfer,
)
from models.triage import PatternChoice, TriageResult
from warmline.lifecycle import (
    admission,
    ai_turn,
    closing,
    conversation,
    deadlines,
    handover,
    opening,
    screening,
)
from warmline.lifecycle.transition import WITHDRAW_SECONDS, Step, Transition, fork
from warmline.redaction import redact

Handler = Callable[[Step, Event], None]

_ON_RESULT: dict[WaitKind, Handler] = {
    WaitKind.PATTERN: opening.on_pattern,
    WaitKind.TRIAGE: opening.on_triage,
    WaitKind.AI: ai_turn.on_ai,
    WaitKind.FAILOVER_ROUTE: ai_turn.on_failover_route,
    WaitKind.SWITCH_ROUTE: conversation.on_switch_route,
    WaitKind.TURN_INTENT: ai_turn.on_turn_intent,
    WaitKind.CAPACITY: handover.on_capacity,
    WaitKind.TRANSFER: handover.on_transfer,
    WaitKind.FORWARD: handover.on_forward,
    WaitKind.CALLBACK: handover.on_callback,
    WaitKind.ARCHIVE: closing.on_archived,
    WaitKind.WITHDRAW: closing.on_withdrawn,
    WaitKind.RECORD: closing.on_recorded,
    WaitKind.SCREEN: screening.on_screened,
}


def step(state: InteractionCarry | None, event: Event) -> Transition:
    """The new state and the commands to carry out; ``state`` itself is never changed.

    ``state`` is None only before ``Started``, which creates it.
    """
    if isinstance(event, Started):
        if state is not None:
            return Transition(state, [], "already started")
        s = opening.start(event)
    elif state is None:
        return Transition(None, [], f"{event.kind} before the interaction started")
    else:
        s = Step(fork(state), event.at)
        _dispatch(s, event)
    _schedule(s)
    return s.done()


def _dispatch(s: Step, event: Event) -> None:
    c = s.state
    match event:
        case CustomerMessageReceived():
            conversation.message_received(s, event)
        case ChannelSwitchRequested():
            conversation.switch_requested(s, event)
        case _ if c.finished:
            s.ignore(f"{event.kind} after the interaction finished")
        case Continued():
            closing.continued(s, event)
        case HumanRequested():
            conversation.human_requested(s, event)
        case AgentAccepted(agent_id=agent_id, transfer_id=transfer_id):
            handover.agent_accepted(s, agent_id, transfer_id)
        case AgentResolved(agent_id=agent_id, resolution=resolution, csat=csat):
            handover.agent_resolved(s, agent_id, resolution, csat)
        case ReviewDecided(response=response):
            ai_turn.review_decided(s, response)
        case EndRequested():
            closing.end_requested(s, event)
        case InputRejected(name=name, reason=reason):
            s.ignore(redact(reason), record=name)
        case ContinueAsNewSuggested():
            c.continue_suggested = True
        case DeadlineReached():
            _deadline(s)
        case Started():
            s.ignore("already started")
        case _:
            _result(s, event)


def _result(s: Step, result: CommandResult) -> None:
    """A command's result reaches whoever waits for it; anything else is late or repeated."""
    c = s.state
    if result.op == c.human.reservation_op:
        opening.on_reservation(s, result)
        return
    if result.op in c.shadows:
        del c.shadows[result.op]
        if not c.shadows and _waiting(c, WaitKind.SHADOWS):
            closing.shadows_settled(s)
        return
    if c.job is not None and c.job.check_op and result.op == c.job.check_op:
        ai_turn.on_turn_intent(s, result)  # beside the AI call, or what a held answer waits for
        return
    wait = c.job.wait if c.job else None
    if wait is None or wait.op == 0 or wait.op != result.op:
        _late(s, result)
    elif wait.kind is WaitKind.RELEASE:
        assert c.job is not None
        on_release = opening.on_release if c.job.kind is JobKind.OPENING else closing.on_released
        on_release(s, result)
    elif wait.kind is WaitKind.ABUSE:
        _on_admission(s, result)
    else:
        _ON_RESULT[wait.kind](s, result)


def _late(s: Step, result: CommandResult) -> None:
    human = s.state.human
    match result:
        case TransferAcked(ack=ack) if ack.transfer_id != human.transfer_id:
            # The ACD took a transfer nobody waits for any more: take it back.
            s.audit("transfer_withdrawn", {"transfer_id": ack.transfer_id, "late": True})
            s.emit(
                WithdrawTransfer(
                    op=s.next_op(), timeout_seconds=WITHDRAW_SECONDS, transfer_id=ack.transfer_id
                )
            )
        case _:
            s.ignore(f"{result.kind} for op {result.op} came late or twice")


def _waiting(c: InteractionCarry, kind: WaitKind) -> bool:
    return c.job is not None and c.job.wait is not None and c.job.wait.kind is kind


def _deadline(s: Step) -> None:
    c = s.state
    wait = c.job.wait if c.job else None
    if c.job is None:
        deadlines.reached(s)
    elif wait is None or not s.due(wait.deadline):
        s.ignore("no deadline due yet")
    elif wait.kind is WaitKind.REVIEW:
        ai_turn.on_review_deadline(s)
    elif wait.kind is WaitKind.ABUSE_HOLD:
        admission.hold_over(s)
        _admitted(s)
    elif wait.kind is WaitKind.SHADOWS:
        s.audit("shadows_abandoned", {"ops": sorted(c.shadows)})
        c.shadows = {}
        closing.shadows_settled(s)
    else:
        error = f"no result within the deadline ({wait.kind.value})"
        _result(s, CommandFailed(at=s.at, op=wait.op, error=redact(error)))


def _on_admission(s: Step, result: Event) -> None:
    if admission.on_checked(s, result):
        if isinstance(result, AdmissionChecked):
            _admitted(s, result.pattern, result.triage)
        else:
            _admitted(s)


def _admitted(
    s: Step, chosen: PatternChoice | None = None, triaged: TriageResult | None = None
) -> None:
    """The abuse limits let the start or the turn through: it goes on where it stopped."""
    job = s.job
    if job.kind is JobKind.OPENING:
        opening.admitted(s, chosen, triaged)
    else:
        conversation.answer_turn(s, job)


def _schedule(s: Step) -> None:
    """While the conversation is free, give it the next piece of work."""
    c = s.state
    while c.job is None and not c.finished:
        if c.closing is not None:
            closing.begin(s)
        elif c.inbox:
            conversation.start(s, c.inbox.pop(0))
        elif not s.continued and closing.continue_due(c):
            closing.begin_continue(s)
        else:
            break
