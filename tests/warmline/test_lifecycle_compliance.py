"""The regulatory duties inside the lifecycle, per jurisdiction and channel, without Temporal:
notices in the first AI reply, the right to a human honoured at once, and no callback without a
recorded yes (whatever path wants one)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from models.acd import TransferAck
from models.interaction import Channel, Customer, EscalationTrigger, Outcome, Route, Sender
from models.lifecycle import (
    BookCallback,
    CallAI,
    ChoosePattern,
    CustomerMessageReceived,
    DeadlineReached,
    ForwardToHuman,
    HumanRequested,
    ReadCapacity,
    Started,
    TransferToHuman,
    Triage,
)
from models.routing import EscalationPolicy, RoutingDecision, SpilloverPolicy
from models.safety import ReplyCheck, ReplyFinding, ReplyFindingKind, SafetyAction
from tests.warmline.lifecycle_builders import (
    Driver,
    ai_reply,
    capacity,
    decision,
    started,
    triage,
)
from warmline.compliance import start as duties_for
from warmline.default_compliance import default_regulatory_policy
from warmline.lifecycle import changes, wording

POLICY = default_regulatory_policy().model_copy(update={"version": 12})
TEXTS = POLICY.texts
DISCLOSURE, ADM, RECORDING = TEXTS.ai_disclosure, TEXTS.automated_decision, TEXTS.recording
OUTAGE = SpilloverPolicy(
    deflect_max_priority=2,
    deflect_when_wait_above_seconds=60,
    voice_callback_when_wait_above_seconds=60,
    max_queued_per_agent=2,
)
IMPATIENT = EscalationPolicy(human_accept_deadline_seconds=60, max_human_wait_seconds=300)


def opened(
    jurisdiction: str,
    channel: Channel = Channel.CHAT,
    *,
    routed: RoutingDecision | None = None,
    legacy: tuple[str, ...] = (),
    **fields: Any,
) -> Driver:
    """Through the opening with the duties the triage activity resolves for ``jurisdiction``."""
    customer = Customer(id="c-1", region="us", jurisdiction=jurisdiction)
    start = started(channel=channel, customer=customer, **fields)
    d = Driver(start.model_copy(update={"legacy": legacy}))
    d.ok(ChoosePattern)
    request = d.pending(Triage).request
    assert request.jurisdiction == (None if legacy else jurisdiction)
    result = triage(routed).model_copy(
        update={"compliance": duties_for(POLICY, jurisdiction, channel.value)}
    )
    d.ok(Triage, result=result)
    return d


def audited(d: Driver, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in d.c.pending_audit if e.kind == kind]


def message(d: Driver, text: str, ticket: str = "u-2", message_id: str | None = None) -> None:
    d.feed(CustomerMessageReceived(at=d.now, text=text, ticket=ticket, message_id=message_id))


# -- notices at the first AI contact -----------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "channel", "expected"),
    [
        ("eu", Channel.CHAT, [DISCLOSURE, ADM]),
        ("eu-de", Channel.VOICE, [DISCLOSURE, ADM, RECORDING]),
        ("uk", Channel.VOICE, [DISCLOSURE, ADM, RECORDING]),
        ("us", Channel.CHAT, [DISCLOSURE]),
        ("us-ca", Channel.CHAT, [DISCLOSURE, ADM]),
        ("us-ca", Channel.VOICE, [DISCLOSURE, ADM, RECORDING]),
        ("us-fl", Channel.VOICE, [DISCLOSURE, RECORDING]),  # all-party consent: voice only
        ("us-fl", Channel.CHAT, [DISCLOSURE]),
        ("us-tx", Channel.VOICE, [DISCLOSURE]),  # one-party consent
        ("br", Channel.CHAT, [DISCLOSURE]),  # no specific rule: the conservative default
    ],
)
def test_the_first_ai_reply_carries_the_notices_due_once(
    jurisdiction: str, channel: Channel, expected: list[str]
) -> None:
    d = opened(jurisdiction, channel)
    d.ok(CallAI)
    first = d.c.replies_by_turn[1]
    assert first.sender is Sender.AI
    assert first.text == " ".join([*expected, "Your parcel is on its way."])
    notice = [e for e in d.c.transcript if e.sender is Sender.SYSTEM]
    assert [e.text for e in notice] == [" ".join(expected)]
    ai_seen = d.pending(CallAI).request.messages
    assert all(DISCLOSURE not in m.content for m in ai_seen), "the AI never sees the notices"
    message(d, "And when will it arrive?")
    d.ok(CallAI)
    assert d.c.replies_by_turn[2].text == "Your parcel is on its way.", "each notice once"
    [duties] = audited(d, "compliance_obligations")
    assert duties["region"] == jurisdiction and duties["policy_version"] == 12
    [contact] = [p for p in audited(d, "compliance") if p["event"] == "ai_contact_started"]
    assert contact["policy_version"] == 12 and contact["jurisdiction"] == jurisdiction


def test_a_refused_first_answer_still_carries_the_notices() -> None:
    """The reply check replaced the AI's first answer with the policy's refusal: that refusal
    is the customer's first automated contact, so the disclosure comes with it, once."""
    d = opened("us-ca")
    refused = ReplyCheck(
        action=SafetyAction.REFUSE_POLITELY,
        findings=[ReplyFinding(kind=ReplyFindingKind.REFUND_COMMITMENT, detail="refund")],
        intent="order_status",
        channel="chat",
        policy_version=3,
        reasons=["test"],
        refusal_text="Sorry, I can't promise that here.",
    )
    d.ok(CallAI, reply=ai_reply("I've refunded you $5,000.", check=refused))
    first = d.c.replies_by_turn[1]
    assert first.kind == "refused_politely"
    assert first.text == f"{DISCLOSURE} {ADM} Sorry, I can't promise that here."
    message(d, "And when will it arrive?")
    d.ok(CallAI)
    assert d.c.replies_by_turn[2].text == "Your parcel is on its way.", "each notice once"


def test_a_switch_to_voice_makes_the_recording_notice_due_on_the_next_ai_reply() -> None:
    from models.lifecycle import ChannelSwitchRequested

    d = opened("us-ca", Channel.CHAT)
    d.ok(CallAI)
    d.feed(ChannelSwitchRequested(at=d.now, channel=Channel.VOICE, reason="call", ticket="s-1"))
    voice = duties_for(POLICY, "us-ca", "voice")
    d.ok(Triage, result=triage().model_copy(update={"compliance": voice}))
    message(d, "Are you still there?")
    d.ok(CallAI)
    assert d.c.replies_by_turn[2].text == f"{RECORDING} Your parcel is on its way."


def test_the_status_view_shows_duties_and_notices() -> None:
    from warmline.lifecycle import status_view

    d = opened("eu-de")
    d.ok(CallAI)
    view = status_view(d.c).compliance
    assert view is not None
    assert view["obligations"]["right_to_human"] and view["notices"] == [
        "ai_disclosure",
        "automated_decision",
    ]


# -- the right to a human ----------------------------------------------------------------------


def crowded(d: Driver) -> None:
    """The spillover would buffer, deflect or call back were the queue read."""
    assert not d.emitted(ReadCapacity), "the queue is not read: the right needs no room"


@pytest.mark.parametrize("jurisdiction", ["eu", "uk", "us-ca", "us-co"])
def test_a_request_for_a_human_is_transferred_at_once_where_the_right_applies(
    jurisdiction: str,
) -> None:
    d = opened(jurisdiction, routed=decision(spillover=OUTAGE))
    d.ok(CallAI)
    d.feed(HumanRequested(at=d.now, reason="customer asked for a person"))
    transfer = d.pending(TransferToHuman)
    crowded(d)
    assert transfer.request.context.trigger is EscalationTrigger.EXPLICIT_REQUEST
    [spill] = audited(d, "spillover")
    assert spill["reasons"] == ["right to a human: at once"]
    [asked] = [p for p in audited(d, "compliance") if p["event"] == "human_requested"]
    assert "right to a human applies: handed over at once" in asked["reasons"]


@pytest.mark.parametrize("jurisdiction", ["us-tx", "br"])
def test_without_the_right_the_spillover_still_protects_the_queue(jurisdiction: str) -> None:
    d = opened(jurisdiction, routed=decision(spillover=OUTAGE))
    d.ok(CallAI)
    d.feed(HumanRequested(at=d.now, reason="customer asked for a person"))
    assert d.kinds() == ["read_capacity"]


def test_asking_for_a_human_in_words_is_honoured_before_any_ai_turn() -> None:
    d = opened("eu", routed=decision(spillover=OUTAGE))
    d.ok(CallAI)
    calls = len(d.emitted(CallAI))
    message(d, "I want to speak to a human please")
    assert d.kinds() == ["transfer"] and len(d.emitted(CallAI)) == calls
    d.ok(TransferToHuman)
    assert d.c.replies_by_turn[2].kind == "handover_notice"


def test_a_request_for_a_human_goes_before_messages_queued_for_the_ai() -> None:
    d = opened("eu")
    call = d.pending(CallAI)
    message(d, "Also, my parcel number is 123", ticket="u-2")
    d.feed(HumanRequested(at=d.now, reason="pressed 0"))
    d.ok(CallAI)  # the turn in flight ends; the request comes before the queued message
    assert d.pending(TransferToHuman) and d.pending(CallAI) is call
    assert (
        d.c.human.transfer_id is None
        and d.c.inbox
        and d.c.escalation_trigger is (EscalationTrigger.EXPLICIT_REQUEST)
    )


# -- consent before a callback -----------------------------------------------------------------


def voice_spillover(jurisdiction: str = "us-tx") -> Driver:
    """A voice caller routed to a human while no agent is free: the spillover wants a callback."""
    d = opened(
        jurisdiction,
        Channel.VOICE,
        routed=decision(Route.HUMAN, spillover=OUTAGE, escalation=IMPATIENT),
        metadata={"priority": 5},
    )
    d.ok(ReadCapacity, capacity=capacity(agents=0, available=0, wait=600))
    return d


def test_a_callback_is_asked_for_never_booked_without_a_yes() -> None:
    d = voice_spillover()
    assert not d.emitted(BookCallback)
    reply = d.c.replies_by_turn[1]
    assert reply.kind == "consent_request" and reply.text == TEXTS.callback_consent
    assert d.c.compliance is not None and d.c.compliance.pending_consent == "callback"


def test_yes_books_exactly_one_callback_with_the_consent_on_record() -> None:
    d = voice_spillover()
    message(d, "Yes, that's fine", message_id="m-2")
    booking = d.pending(BookCallback)
    assert booking.request.reason == "voice wait too long: callback instead of hold"
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK and "callback" in d.c.replies_by_turn[2].text
    assert len(d.emitted(BookCallback)) == 1
    [answered] = [p for p in audited(d, "compliance") if p["event"] == "consent_answered"]
    record = answered["consent"]
    assert record["granted"] and record["message_id"] == "m-2"
    assert record["asked_text"] == TEXTS.callback_consent and record["answer"] == "Yes, that's fine"
    assert answered["policy_version"] == 12


def test_no_means_no_callback_and_the_caller_stays_in_the_queue() -> None:
    d = voice_spillover()
    message(d, "No, don't call me")
    assert not d.emitted(BookCallback)
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-9", queue_position=4))
    assert d.c.replies_by_turn[2].kind == "handover_notice" and d.c.human.transfer_id == "t-9"
    assert d.c.compliance is not None
    [record] = d.c.compliance.consents
    assert not record.granted


def test_an_unclear_answer_is_asked_again_then_counts_as_no_consent() -> None:
    d = voice_spillover()
    message(d, "which number do you have?", ticket="u-2")
    assert d.c.replies_by_turn[2].kind == "consent_request"
    message(d, "hmm", ticket="u-3")
    assert not d.emitted(BookCallback) and d.emitted(TransferToHuman)
    assert d.c.compliance is not None and d.c.compliance.consents == []


def test_an_unreachable_acd_asks_before_booking_and_a_no_closes_truthfully() -> None:
    d = opened("eu", routed=decision(Route.HUMAN))
    d.ok(ReadCapacity)
    d.fail(TransferToHuman, "connection refused")
    assert d.c.replies_by_turn[1].kind == "consent_request" and not d.emitted(BookCallback)
    message(d, "no thanks")
    assert not d.emitted(BookCallback)
    assert d.c.closing is Outcome.ABANDONED and d.c.close_reason == "no_callback_consent"
    assert d.c.replies_by_turn[2].text == wording.NO_CALLBACK_NO_AGENT


def test_an_unreachable_acd_with_a_yes_books_the_callback() -> None:
    d = opened("us", routed=decision(Route.HUMAN))
    d.ok(ReadCapacity)
    d.fail(TransferToHuman, "connection refused")
    message(d, "sure, go ahead")
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK and d.c.replies_by_turn[2].text == (
        wording.CALLBACK_CONFIRMED
    )


def waiting(jurisdiction: str = "us") -> Driver:
    d = opened(jurisdiction, routed=decision(Route.HUMAN, escalation=IMPATIENT))
    d.ok(ReadCapacity)
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-1", queue_position=3))
    d.later(60).feed(DeadlineReached(at=d.now))
    return d


def test_the_offer_at_the_accept_deadline_is_the_consent_question() -> None:
    d = waiting()
    offer = d.c.transcript[-1]
    assert offer.sender is Sender.SYSTEM and offer.text.endswith(TEXTS.callback_consent)
    message(d, "please call me back")
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK


def test_no_answer_by_the_maximum_wait_books_nothing() -> None:
    d = waiting()
    d.later(240).feed(DeadlineReached(at=d.now))
    assert not d.emitted(BookCallback)
    assert d.c.closing is Outcome.ABANDONED
    assert d.c.transcript[-1].text == wording.NO_AGENT_IN_TIME
    [last] = [p for p in audited(d, "compliance") if p["event"] == "contact_proposed"][-1:]
    assert "no time left to ask" in " ".join(last["reasons"])


def test_declining_the_offer_keeps_the_place_in_the_queue() -> None:
    d = waiting()
    message(d, "no, I'd rather wait")
    assert d.c.replies_by_turn[2].text == wording.STAY_IN_QUEUE
    assert d.c.human.transfer_id == "t-1" and not d.emitted(BookCallback)


# -- the contract and older histories ------------------------------------------------------------


def test_a_run_recorded_before_the_duties_books_as_it_did() -> None:
    d = opened("us", routed=decision(Route.HUMAN), legacy=(changes.COMPLIANCE,))
    d.ok(ReadCapacity)
    d.fail(TransferToHuman, "connection refused")
    assert d.kinds() == ["book_callback"] and d.c.compliance is None


def test_a_failed_triage_still_owes_consent_under_the_default_policy() -> None:
    customer = Customer(id="c-1", region="eu")
    d = Driver(started(customer=customer))
    d.ok(ChoosePattern)
    d.fail(Triage, "classifier down")
    [duties] = audited(d, "compliance_obligations")
    assert duties["region"] == "eu" and duties["consent_before_callback"]
    assert duties["source"].startswith("default policy")


def test_the_jurisdiction_is_validated_and_defaults_to_the_residency_region() -> None:
    assert Customer(id="c", jurisdiction="US-CA").legal_jurisdiction == "us-ca"
    assert Customer(id="c", region="eu").legal_jurisdiction == "eu"
    for bad in ("california", "us_ca", "u", "us-", "x" * 17):
        with pytest.raises(ValidationError):
            Customer(id="c", jurisdiction=bad)
    assert isinstance(started(), Started)


def test_a_customer_who_said_no_and_then_asks_for_a_callback_is_asked_again() -> None:
    d = waiting()
    message(d, "no, I'd rather wait")
    message(d, "actually, call me back", ticket="u-3")
    assert d.c.replies_by_turn[3].kind == "consent_request" and not d.emitted(BookCallback)
    message(d, "yes", ticket="u-4")
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK
    assert d.c.compliance is not None
    assert [r.granted for r in d.c.compliance.consents] == [False, True]


def test_where_no_consent_is_needed_the_offer_waits_for_the_customer_as_before() -> None:
    d = waiting()  # a policy without the duty: as the releases before it did
    no_duty = waiting_without_duty()
    assert "call me back" in no_duty.c.transcript[-1].text and not no_duty.emitted(BookCallback)
    message(no_duty, "yes please call me back")
    no_duty.ok(BookCallback)
    assert no_duty.c.closing is Outcome.CALLBACK
    assert d.c.compliance is not None and d.c.compliance.pending_consent == "callback"


def waiting_without_duty() -> Driver:
    from models.compliance import RegulatoryPolicy

    customer = Customer(id="c-1", jurisdiction="us")
    d = Driver(started(customer=customer))
    d.ok(ChoosePattern)
    none = duties_for(RegulatoryPolicy(rules=[]), "us", "chat")
    routed = decision(Route.HUMAN, escalation=IMPATIENT)
    d.ok(Triage, result=triage(routed).model_copy(update={"compliance": none}))
    d.ok(ReadCapacity)
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-1", queue_position=3))
    d.later(60).feed(DeadlineReached(at=d.now))
    return d


def test_asking_for_a_person_instead_of_answering_keeps_the_caller_in_the_queue() -> None:
    d = voice_spillover("us-ca")
    message(d, "I want to talk to a person, not a callback")
    assert not d.emitted(BookCallback) and d.pending(TransferToHuman)
    assert d.c.compliance is not None
    assert [r.granted for r in d.c.compliance.consents] == [False]


def test_the_request_human_signal_while_a_callback_is_asked_about_is_a_no() -> None:
    d = voice_spillover("eu")
    d.feed(HumanRequested(at=d.now, reason="pressed 0"))
    assert not d.emitted(BookCallback) and d.pending(TransferToHuman)
    assert d.c.callback_pending is None and d.c.compliance is not None
    [record] = d.c.compliance.consents
    assert not record.granted and record.answer.startswith("asked for a human instead")
    d.ok(TransferToHuman)
    assert d.c.transcript[-1].text.startswith("I'm connecting you")


def test_a_caller_silent_after_the_question_is_not_called_back_at_the_maximum_wait() -> None:
    d = voice_spillover()
    d.later(60).feed(DeadlineReached(at=d.now))  # the accept deadline: the question stands
    assert d.c.callback_pending is not None and not d.emitted(BookCallback)
    d.later(240).feed(DeadlineReached(at=d.now))
    assert not d.emitted(BookCallback)
    assert d.c.closing is Outcome.ABANDONED and d.c.close_reason == "no_callback_consent"


def test_an_agent_joining_withdraws_the_question() -> None:
    from models.lifecycle import AgentAccepted

    d = waiting()
    assert d.c.callback_pending is not None
    d.feed(AgentAccepted(at=d.now, agent_id="agent-3", transfer_id="t-1"))
    assert d.c.callback_pending is None and d.c.compliance is not None
    assert d.c.compliance.pending_consent is None and d.c.compliance.consents == []
    message(d, "yes")  # now just a message for the agent
    assert d.pending(ForwardToHuman).message.text == "yes" and not d.emitted(BookCallback)
