"""The interaction lifecycle after the AI: hand-over, spillover, deadlines, the close and the
continue-as-new, transition by transition and without Temporal."""

from __future__ import annotations

from models.acd import ReservationAck, TransferAck
from models.ai import AIAction
from models.interaction import (
    Channel,
    EscalationTrigger,
    InteractionState,
    OrchestrationPattern,
    Outcome,
    Route,
    Sender,
)
from models.interaction_state import ReservationStatus
from models.lifecycle import (
    AgentAccepted,
    AgentResolved,
    ArchiveRun,
    BookCallback,
    CallAI,
    ChoosePattern,
    Complete,
    ContinueAsNew,
    ContinueAsNewSuggested,
    Continued,
    CustomerMessageReceived,
    DeadlineReached,
    EndRequested,
    ForwardToHuman,
    HumanRequested,
    ReadCapacity,
    RecordOutcome,
    ReleaseReservation,
    ReserveHuman,
    TransferAcked,
    TransferToHuman,
    Triage,
    WithdrawTransfer,
)
from models.routing import EscalationPolicy, SpilloverPolicy
from tests.warmline.lifecycle_builders import (
    Driver,
    ai_reply,
    at,
    capacity,
    decision,
    pattern,
    started,
    triage,
)
from warmline.lifecycle import next_timer
from warmline.lifecycle.wording import CALLBACK_CONFIRMED

OUTAGE = SpilloverPolicy(
    deflect_max_priority=2,
    deflect_when_wait_above_seconds=60,
    voice_callback_when_wait_above_seconds=60,
    max_queued_per_agent=2,
    admission_check_seconds=0.5,
)
IMPATIENT = EscalationPolicy(human_accept_deadline_seconds=60, max_human_wait_seconds=300)


def to_human(d: Driver, **routed: object) -> Driver:
    d.ok(ChoosePattern)
    d.ok(Triage, result=triage(decision(Route.HUMAN, **routed)))  # type: ignore[arg-type]
    return d


def waiting_for_a_human() -> Driver:
    d = to_human(Driver(), escalation=IMPATIENT)
    d.ok(ReadCapacity)
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-1", queue_position=3))
    return d


def message(d: Driver, text: str, ticket: str = "u-1") -> None:
    d.feed(CustomerMessageReceived(at=d.now, text=text, ticket=ticket))


# -- hand-over and spillover -------------------------------------------------------------------


def test_the_acd_gets_the_whole_context_package_once() -> None:
    d = Driver(started(metadata={"priority": 8, "order": "A-1"})).to_ai()
    d.ok(CallAI)
    d.feed(HumanRequested(at=d.now, reason="pressed 0"))
    d.ok(ReadCapacity)
    package = d.pending(TransferToHuman).request.context
    assert package.trigger is EscalationTrigger.EXPLICIT_REQUEST and package.priority == 8
    assert [e.sender for e in package.transcript] == [Sender.CUSTOMER, Sender.AI]
    d.ok(TransferToHuman)
    assert d.c.transcript[-1].text.startswith("I'm connecting you")
    d.feed(HumanRequested(at=d.now, reason="again"))
    assert len(d.emitted(TransferToHuman)) == 1, "one escalation per interaction"


def test_an_outage_deflects_low_priority_and_calls_voice_back() -> None:
    low = to_human(Driver(started(metadata={"priority": 0})), spillover=OUTAGE)
    low.ok(ReadCapacity, capacity=capacity(agents=0, available=0, wait=600))
    assert low.c.closing is Outcome.DEFLECTED and low.c.replies_by_turn[1].kind == "closing"
    caller = to_human(
        Driver(started(channel=Channel.VOICE, metadata={"priority": 5})), spillover=OUTAGE
    )
    caller.ok(ReadCapacity, capacity=capacity(agents=0, available=0, wait=600))
    caller.ok(BookCallback)
    assert caller.c.closing is Outcome.CALLBACK
    assert "callback" in caller.c.replies_by_turn[1].text


def test_a_crowded_queue_buffers_then_admits_when_there_is_room() -> None:
    d = to_human(Driver(started(metadata={"priority": 5})), spillover=OUTAGE)
    crowded = capacity(agents=1, available=0, queued=5, wait=30)
    d.ok(ReadCapacity, capacity=crowded)
    assert d.c.human.buffered and d.c.replies_by_turn[1].kind == "hold_notice"
    assert next_timer(d.c) == at(0.5), "the queue is asked again after the admission interval"
    d.later(0.5).feed(DeadlineReached(at=d.now))
    d.ok(ReadCapacity, capacity=crowded)
    assert d.c.human.buffered and not d.emitted(TransferToHuman)
    d.later(0.5).feed(DeadlineReached(at=d.now))
    d.ok(ReadCapacity, capacity=capacity())
    assert d.emitted(TransferToHuman) and not d.c.human.buffered
    assert [e.kind for e in d.c.pending_audit].count("spillover") == 3, "buffer, buffer, admit"


def test_an_acd_that_stays_unreachable_still_ends_in_a_booked_callback() -> None:
    d = to_human(Driver())
    d.ok(ReadCapacity)
    d.fail(TransferToHuman, "connection refused")
    assert d.kinds() == ["book_callback"] and 1 not in d.c.replies_by_turn, "booked, then said"
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK and d.c.close_reason == "acd_unreachable"
    assert d.c.replies_by_turn[1].text == CALLBACK_CONFIRMED


def test_no_human_in_time_offers_then_books_a_callback() -> None:
    d = waiting_for_a_human()
    assert next_timer(d.c) == at(60)
    d.later(60).feed(DeadlineReached(at=d.now))
    assert d.c.human.callback_offered and "call me back" in d.c.transcript[-1].text
    assert next_timer(d.c) == at(300)
    d.later(240).feed(DeadlineReached(at=d.now))
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK and d.kinds()[0] == "withdraw_transfer"


def test_a_customer_accepting_the_offer_is_called_back_and_a_decline_is_forwarded() -> None:
    d = waiting_for_a_human()
    d.later(60).feed(DeadlineReached(at=d.now))
    message(d, "no thanks, I'd rather wait")
    forward = d.pending(ForwardToHuman)
    assert forward.message.transfer_id == "t-1" and forward.message.turn == 2
    d.ok(ForwardToHuman)
    assert d.c.replies_by_turn[2].kind == "hold_notice"
    message(d, "yes please call me back", ticket="u-2")
    d.ok(BookCallback)
    assert d.c.replies_by_turn[3].text == CALLBACK_CONFIRMED and d.c.closing is Outcome.CALLBACK


def test_the_acd_accepting_and_resolving_closes_as_escalated_with_a_takeover() -> None:
    d = Driver().to_ai()
    d.ok(CallAI, reply=ai_reply("Let me get a colleague.", AIAction.ESCALATE))
    d.ok(ReadCapacity)
    d.ok(TransferToHuman)
    d.later(5).feed(AgentAccepted(at=d.now, agent_id="agent-7"))
    assert d.c.state is InteractionState.WITH_HUMAN and d.c.overrides[0].actor == "agent-7"
    message(d, "thanks for joining")
    d.ok(ForwardToHuman)
    assert d.c.replies_by_turn[2].kind == "delivered_to_human"
    d.later(30).feed(AgentResolved(at=d.now, agent_id="agent-7", csat=4))
    d.ok(RecordOutcome)
    result = d.pending(Complete).result
    assert result.outcome is Outcome.ESCALATED and result.csat == 4
    assert result.handle_seconds["human"] == 30 and not d.emitted(WithdrawTransfer)
    d.feed(AgentResolved(at=d.now, agent_id="agent-7"))
    assert d.commands == [], "a second resolve after the end changes nothing"


def test_a_late_transfer_ack_is_withdrawn() -> None:
    d = to_human(Driver(), escalation=IMPATIENT)
    d.ok(ReadCapacity)
    transfer = d.pending(TransferToHuman)
    d.later(301).feed(DeadlineReached(at=d.now))
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK
    late = TransferAcked(at=d.now, op=transfer.op, ack=TransferAck(transfer_id="t-late"))
    d.feed(late)
    assert [c.transfer_id for c in d.emitted(WithdrawTransfer)] == ["t-late"]


# -- the close ---------------------------------------------------------------------------------


def test_a_customer_leaving_withdraws_the_transfer_and_releases_a_held_seat() -> None:
    d = Driver()
    d.ok(ChoosePattern, choice=pattern(OrchestrationPattern.PARALLEL))
    d.ok(ReserveHuman, ack=ReservationAck(reservation_id="r-1"))
    d.ok(Triage, result=triage(decision(Route.HUMAN)))
    d.ok(ReadCapacity)
    d.fail(TransferToHuman)
    d.ok(BookCallback)
    assert d.c.human.reservation is ReservationStatus.HELD
    d.ok(ReleaseReservation)
    assert d.c.human.reservation is ReservationStatus.RELEASED
    assert not d.c.human.reservation_released, "no wait was saved by this release"
    d.ok(RecordOutcome)
    assert d.c.finished


def test_silence_closes_an_ai_conversation_after_the_channel_timeout() -> None:
    d = Driver().to_ai()
    d.ok(CallAI)
    d.later(899).feed(DeadlineReached(at=d.now))
    assert d.c.closing is None and d.note == "no deadline due yet"
    d.later(1).feed(DeadlineReached(at=d.now))
    assert d.c.close_reason == "inactivity" and d.c.outcome is Outcome.CONTAINED


def test_a_human_session_the_acd_forgot_ends_instead_of_waiting_for_ever() -> None:
    d = waiting_for_a_human()
    d.feed(AgentAccepted(at=d.now, agent_id="agent-1"))
    assert next_timer(d.c) == at(EscalationPolicy().human_session_timeout_seconds)
    d.later(EscalationPolicy().human_session_timeout_seconds).feed(DeadlineReached(at=d.now))
    assert d.c.close_reason == "human_session_timeout" and d.kinds()[0] == "withdraw_transfer"


def test_a_failed_record_fails_the_interaction_visibly() -> None:
    d = Driver().to_ai()
    d.ok(CallAI)
    d.feed(EndRequested(at=d.now, reason="bye", csat=5))
    d.fail(RecordOutcome, "database down")
    assert d.kinds() == ["fail"] and d.c.finished


# -- continue-as-new ---------------------------------------------------------------------------


def test_a_long_chat_archives_old_turns_and_continues_as_new_once_idle() -> None:
    d = Driver().to_ai(decision(max_turns_per_run=3, max_turns=50))
    d.ok(CallAI)
    for turn in range(2, 4):
        message(d, f"detail {turn}", ticket=f"u-{turn}")
        d.ok(CallAI)
    archive = d.pending(ArchiveRun).flush
    assert archive.archive.entries == [] and archive.audit, "few turns: only the audit moves"
    d.ok(ArchiveRun)
    assert d.kinds() == ["continue_as_new"] and d.c.pending_audit == []
    d.feed(Continued(at=d.now))
    assert d.c.run_index == 1 and d.c.turns_this_run == 0 and d.c.turns == 3
    message(d, "after the new run")
    assert d.kinds() == ["call_ai"]


def test_work_that_arrives_during_the_archive_goes_first() -> None:
    d = Driver().to_ai()
    d.ok(CallAI)
    d.feed(ContinueAsNewSuggested(at=d.now))
    assert d.kinds() == ["archive_run"]
    message(d, "one more thing")
    d.ok(ArchiveRun)
    assert d.kinds() == ["call_ai"] and not d.emitted(ContinueAsNew)
    d.ok(CallAI)
    assert d.kinds()[-1] == "continue_as_new", "archived once: the next idle moment continues"
    assert len(d.emitted(ArchiveRun)) == 1
