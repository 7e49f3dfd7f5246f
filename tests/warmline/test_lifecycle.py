"""The interaction lifecycle, transition by transition: opening, AI turns, reviews, messages.

Each test drives ``warmline.lifecycle.step`` with events and answers its commands, exactly as the
workflow does, and checks the commands, replies and state it produces. No Temporal, no server.
"""

from __future__ import annotations

from models.acd import ReservationAck
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
from models.interaction_state import QueuedMessage, ReservationStatus, WaitKind
from models.lifecycle import (
    AgentAccepted,
    CallAI,
    CallShadow,
    ChannelSwitchRequested,
    ChoosePattern,
    Complete,
    CustomerMessageReceived,
    DeadlineReached,
    DeliverReply,
    DeliverSwitch,
    EndRequested,
    InputRejected,
    ReadCapacity,
    RecordOutcome,
    ReleaseReservation,
    ReservationAcked,
    ReserveHuman,
    ReviewDecided,
    TransferToHuman,
    Triage,
    UpsertSearchAttributes,
)
from models.supervision import ReviewDecision, ReviewResponse, SupervisionMode
from tests.warmline.lifecycle_builders import (
    CARD,
    CARE,
    CARE_NEXT,
    EMAIL,
    SHADOW,
    Driver,
    ai_reply,
    at,
    decision,
    pattern,
    plan,
    started,
    triage,
)
from warmline.lifecycle import next_timer, step
from warmline.lifecycle.wording import CLOSED


def message(
    d: Driver, text: str, message_id: str | None = None, ticket: str | None = "u-1"
) -> None:
    d.feed(CustomerMessageReceived(at=d.now, text=text, message_id=message_id, ticket=ticket))


def delivered(d: Driver) -> list[DeliverReply]:
    return [c for c in d.commands if isinstance(c, DeliverReply)]


# -- opening -------------------------------------------------------------------------------


def test_the_input_is_redacted_before_anything_is_kept_or_sent() -> None:
    d = Driver(started(f"card {CARD}, mail {EMAIL}", metadata={"contact": EMAIL}))
    assert d.kinds() == ["choose_pattern"]
    d.ok(ChoosePattern)
    request = d.pending(Triage).request
    assert CARD not in request.text and EMAIL not in request.text and "[CARD_1]" in request.text
    assert EMAIL not in d.c.model_dump_json()


def test_routing_is_recorded_with_the_pattern_reason_then_the_ai_answers_turn_1() -> None:
    d = Driver().to_ai()
    assert d.kinds() == ["call_ai"] and d.c.state is InteractionState.AI_ACTIVE
    assert d.c.decisions[0]["reasons"] == ["entry point uses pre_acd", "routed ai"]
    d.ok(CallAI)
    reply = d.c.replies_by_turn[1]
    assert reply.sender is Sender.AI and reply.text == "Your parcel is on its way."
    assert [e.sender for e in d.c.transcript] == [Sender.CUSTOMER, Sender.AI]
    assert d.c.job is None and next_timer(d.c) == at(900), "chat goes quiet after 15 minutes"


def test_a_failed_pattern_choice_falls_back_to_pre_acd_and_a_failed_triage_to_a_human() -> None:
    d = Driver()
    d.fail(ChoosePattern, "config store down")
    assert d.c.pattern is OrchestrationPattern.PRE_ACD and "failed" in d.c.pattern_reason
    d.fail(Triage, "classifier down")
    assert d.c.escalation_trigger is EscalationTrigger.ROUTED_TO_HUMAN
    assert d.kinds() == ["read_capacity"]


def test_parallel_pattern_releases_the_seat_when_the_ai_takes_the_interaction() -> None:
    d = Driver()
    d.ok(ChoosePattern, choice=pattern(OrchestrationPattern.PARALLEL))
    assert d.kinds() == ["reserve_human", "triage"]
    d.ok(Triage)
    assert d.c.job is not None and d.c.job.wait is not None
    assert d.c.job.wait.kind is WaitKind.RESERVATION, "the AI waits for the race to settle"
    d.ok(ReserveHuman, ack=ReservationAck(reservation_id="r-9", estimated_wait_seconds=40))
    release = d.pending(ReleaseReservation)
    assert release.reservation_id == "r-9"
    d.ok(ReleaseReservation)
    assert d.c.human.reservation_released and d.c.human.saved_wait_seconds == 40
    assert d.kinds() == ["call_ai"]


def test_parallel_pattern_converts_the_seat_for_human_work() -> None:
    d = Driver()
    d.ok(ChoosePattern, choice=pattern(OrchestrationPattern.PARALLEL))
    d.ok(ReserveHuman, ack=ReservationAck(reservation_id="r-1"))
    d.ok(Triage, result=triage(decision(Route.HUMAN)))
    d.ok(ReadCapacity)
    transfer = d.pending(TransferToHuman)
    assert transfer.request.reservation_id == "r-1"
    d.ok(TransferToHuman)
    assert d.c.human.reservation is ReservationStatus.CONVERTED
    assert d.c.replies_by_turn[1].kind == "handover_notice"


def test_a_reservation_answering_after_the_wait_gave_up_is_released_at_once() -> None:
    d = Driver()
    d.ok(ChoosePattern, choice=pattern(OrchestrationPattern.PARALLEL))
    reserve = d.pending(ReserveHuman)
    d.ok(Triage)
    d.later(31).feed(DeadlineReached(at=d.now))
    assert d.c.human.reservation is ReservationStatus.FAILED and d.kinds() == ["call_ai"]
    late = ReservationAcked(at=d.now, op=reserve.op, ack=ReservationAck(reservation_id="r-late"))
    d.feed(late)
    assert [c.reservation_id for c in d.emitted(ReleaseReservation)] == ["r-late"]
    d.feed(late)
    assert len(d.emitted(ReleaseReservation)) == 1, "a repeated ack releases nothing twice"


# -- AI turns --------------------------------------------------------------------------------


def test_an_explicit_request_escalates_before_the_ai_is_called() -> None:
    d = Driver(started("Can I speak to a real person please")).to_ai()
    assert d.kinds() == ["read_capacity"]
    assert d.c.escalation_trigger is EscalationTrigger.EXPLICIT_REQUEST
    assert not d.emitted(CallAI)


def test_a_failed_ai_call_fails_over_once_to_another_version() -> None:
    d = Driver().to_ai()
    d.fail(CallAI, "503 from care-bot:1")
    assert d.kinds() == ["triage"]
    d.ok(Triage, result=triage(decision(endpoint=CARE_NEXT)))
    call = d.pending(CallAI)
    assert call.request.endpoint == CARE_NEXT
    assert d.c.decisions[-1]["reasons"] == ["failover after care-bot:1 failed", "routed ai"]
    d.fail(CallAI, "503 from care-bot:2")
    assert d.c.escalation_trigger is EscalationTrigger.AI_UNAVAILABLE
    assert d.c.usage.ai_failures == 2 and d.kinds() == ["read_capacity"]


def test_a_failover_to_the_same_version_hands_over_instead() -> None:
    d = Driver().to_ai()
    d.fail(CallAI)
    d.ok(Triage, result=triage(decision(endpoint=CARE)))
    assert d.c.escalation_trigger is EscalationTrigger.AI_UNAVAILABLE


def test_the_ai_resolving_closes_the_interaction_and_records_it() -> None:
    d = Driver().to_ai()
    d.ok(CallAI, reply=ai_reply("Glad I could help", AIAction.RESOLVE))
    assert d.c.closing is Outcome.CONTAINED and d.c.state is InteractionState.CLOSED
    assert d.c.replies_by_turn[1].kind == "closing"
    record = d.pending(RecordOutcome).record
    assert record.facts.outcome == "contained" and record.audit[-1].kind == "closed"
    d.ok(RecordOutcome)
    complete = d.pending(Complete)
    assert complete.result.outcome is Outcome.CONTAINED and d.c.finished


def test_the_ai_asking_for_a_human_sends_its_words_and_the_notice_as_one_reply() -> None:
    d = Driver().to_ai()
    d.ok(CallAI, reply=ai_reply("Let me get a colleague.", AIAction.ESCALATE, assessment=EMAIL))
    d.ok(ReadCapacity)
    d.ok(TransferToHuman)
    reply = d.c.replies_by_turn[1]
    assert reply.sender is Sender.AI and reply.text.startswith("Let me get a colleague. ")
    assert reply.kind == "handover_notice" and reply.model_version == "care-bot:1"
    assert d.c.ai_assessment == "[EMAIL]"


def test_shadow_calls_run_beside_the_turn_and_the_close_waits_for_them() -> None:
    d = Driver().to_ai(decision(shadow=SHADOW))
    d.ok(CallAI, reply=ai_reply("Done.", AIAction.RESOLVE))
    shadow = d.pending(CallShadow)
    assert shadow.request.request.endpoint == SHADOW
    assert d.c.job is not None and d.c.job.wait is not None
    assert d.c.job.wait.kind is WaitKind.SHADOWS
    d.ok(CallShadow)
    assert d.kinds()[-1] == "record"


# -- supervision -------------------------------------------------------------------------------


def supervised(deadline: float = 30.0) -> Driver:
    d = Driver().to_ai(supervision=plan(SupervisionMode.FULLY_SUPERVISED, deadline))
    d.ok(CallAI, reply=ai_reply(f"Refund sent, receipt to {EMAIL}"))
    return d


def review(d: Driver, decided: ReviewDecision, draft_id: str | None = None, **fields: str) -> None:
    held = d.c.pending_draft
    assert held is not None or draft_id is not None
    response = ReviewResponse(
        draft_id=draft_id or (held.draft_id if held else ""),
        decision=decided,
        reviewer_id="sup-1",
        **fields,
    )
    d.feed(ReviewDecided(at=d.now, response=response))


def test_a_fully_supervised_draft_waits_for_the_supervisor_and_is_findable() -> None:
    d = supervised()
    assert (
        d.c.pending_draft is not None
        and d.c.pending_draft.text == "Refund sent, receipt to [EMAIL]"
    )
    upsert = d.pending(UpsertSearchAttributes)
    assert upsert.pending_review is True and upsert.intent == "order_status"
    assert 1 not in d.c.replies_by_turn
    assert next_timer(d.c) == at(30), "only the review deadline ends the wait"
    review(d, ReviewDecision.APPROVE)
    assert d.c.replies_by_turn[1].text == "Refund sent, receipt to [EMAIL]"
    assert d.c.reviews[0].reviewer_id == "sup-1" and d.c.pending_draft is None


def test_an_edited_draft_is_sent_redacted_and_recorded_as_an_override() -> None:
    d = supervised()
    review(d, ReviewDecision.EDIT, edited_text=f"Refund on its way, write to {EMAIL}")
    assert d.c.replies_by_turn[1].text == "Refund on its way, write to [EMAIL]"
    assert d.c.overrides[0].kind.value == "draft_replaced"


def test_a_rejected_or_late_draft_is_never_sent_and_hands_over() -> None:
    rejected = supervised()
    review(rejected, ReviewDecision.REJECT, reason="wrong policy")
    assert rejected.c.escalation_trigger is EscalationTrigger.SUPERVISOR_REJECTED
    late = supervised(deadline=2.0)
    late.later(2).feed(DeadlineReached(at=late.now))
    assert late.c.escalation_trigger is EscalationTrigger.REVIEW_TIMEOUT
    assert late.c.reviews[0].reviewer_id == "warmline"
    for d in (rejected, late):
        assert all(e.sender is not Sender.AI for e in d.c.transcript)


def test_a_decision_on_another_draft_is_ignored_on_the_record() -> None:
    d = supervised()
    review(d, ReviewDecision.APPROVE, draft_id="7-7")
    assert d.c.pending_draft is not None
    assert d.c.pending_audit[-1].kind == "review_ignored"


def test_semi_autonomous_triggers_hand_over_or_ask_for_approval() -> None:
    angry = Driver(started("I am not happy with this"))
    angry.to_ai(supervision=plan(SupervisionMode.SEMI_AUTONOMOUS, sentiment_below=-0.2))
    assert angry.c.escalation_trigger is EscalationTrigger.SUPERVISION_TRIGGER
    money = Driver(started("Please refund the $1,250.00 charge"))
    money.to_ai(supervision=plan(SupervisionMode.SEMI_AUTONOMOUS, monetary_amount_above=500))
    money.ok(CallAI)
    assert money.c.pending_draft is not None and money.c.supervision_triggers == ["monetary_amount"]


# -- messages ------------------------------------------------------------------------------


def test_messages_queue_behind_the_turn_and_each_gets_exactly_one_reply() -> None:
    d = Driver().to_ai()
    message(d, "second", "m-2", ticket="u-2")
    message(d, "second", "m-2", ticket="u-3")  # the client retried while turn 1 ran
    assert d.c.inbox == [QueuedMessage(text="second", message_id="m-2", tickets=["u-2", "u-3"])]
    d.ok(CallAI)
    assert d.c.turns == 2 and d.kinds() == ["call_ai"], "turn 2 starts when turn 1 is answered"
    message(d, "second", "m-2", ticket="u-4")
    assert d.c.job is not None and d.c.job.tickets == ["u-2", "u-3", "u-4"]
    d.ok(CallAI, reply=ai_reply("Answer two"))
    assert {c.ticket for c in delivered(d)} == {"u-2", "u-3", "u-4"}
    message(d, "second", "m-2", ticket="u-5")
    assert [(c.ticket, c.reply.text) for c in delivered(d)] == [("u-5", "Answer two")]
    assert d.c.turns == 2


def test_a_message_after_the_close_is_told_so_and_not_counted() -> None:
    d = Driver().to_ai()
    d.ok(CallAI)
    d.feed(EndRequested(at=d.now, reason="hung up"))
    message(d, "hello?", ticket="u-9")
    assert [c.reply.text for c in delivered(d)] == [CLOSED]
    assert d.c.turns == 1 and "customer_message" in d.c.ignored[-1]


def test_a_channel_switch_reroutes_an_ai_conversation_and_may_hand_it_over() -> None:
    d = Driver().to_ai()
    d.ok(CallAI)
    d.feed(
        ChannelSwitchRequested(at=d.now, channel=Channel.VOICE, reason="called in", ticket="s-1")
    )
    assert d.kinds() == ["triage"] and d.c.channel is Channel.VOICE
    d.ok(Triage, result=triage(decision(Route.HUMAN, reasons=["voice needs a human"])))
    d.ok(ReadCapacity)
    d.ok(TransferToHuman)
    answer = next(c for c in d.commands if isinstance(c, DeliverSwitch)).answer
    assert answer.route is Route.HUMAN and answer.previous_channel is Channel.CHAT
    assert d.c.escalation_trigger is EscalationTrigger.CHANNEL_SWITCH
    d.feed(ChannelSwitchRequested(at=d.now, channel=Channel.VOICE, reason="again", ticket="s-2"))
    again = next(c for c in d.commands if isinstance(c, DeliverSwitch)).answer
    assert again.reasons == ["already on channel voice"]


def test_a_bad_signal_is_dropped_visibly() -> None:
    d = Driver().to_ai()
    d.feed(InputRejected(at=d.now, name="human_accepted", reason=f"agent_id missing {EMAIL}"))
    assert d.c.ignored == ["human_accepted: agent_id missing [EMAIL]"]
    assert d.c.pending_audit[-1].kind == "input_ignored"


def test_step_never_changes_its_input_and_is_total_before_and_after_the_interaction() -> None:
    assert step(None, AgentAccepted(at="2025-03-01T10:00:00+00:00", agent_id="a")).state is None
    d = Driver().to_ai()
    given, copy = d.c, d.c.model_copy(deep=True)
    d.ok(CallAI, reply=ai_reply("Bye", AIAction.RESOLVE))
    assert given == copy and given.transcript != d.c.transcript
    d.ok(RecordOutcome)
    done = d.c
    d.feed(AgentAccepted(at=d.now, agent_id="a"))
    assert d.c == done and d.commands == [] and "finished" in d.note
    d.feed(started())
    assert d.note == "already started"
