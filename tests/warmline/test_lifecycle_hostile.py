"""Issue 12 at the machine: the holes a client, a payload or an ACD fault could open in one
interaction, each closed transition by transition and without Temporal."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.acd import TransferAck
from models.ai import AIAction
from models.interaction import (
    MAX_TURNS_PER_INTERACTION,
    AwaitReply,
    InteractionInput,
    Outcome,
    Route,
    Sender,
)
from models.interaction_state import MESSAGE_IDS_KEPT, QUEUED_MAX, RECENT_REPLIES_KEPT
from models.lifecycle import (
    AgentAccepted,
    AgentResolved,
    BookCallback,
    CallAI,
    ChoosePattern,
    CustomerMessageReceived,
    DeadlineReached,
    EndRequested,
    ForwardToHuman,
    HumanRequested,
    InputRejected,
    ReadCapacity,
    RecordOutcome,
    RefuseMessage,
    TransferToHuman,
    Triage,
)
from models.routing import EscalationPolicy
from tests.warmline.lifecycle_builders import (
    Driver,
    ai_reply,
    decision,
    interaction_input,
    started,
    triage,
)
from warmline.lifecycle import changes, intake, wording

IMPATIENT = EscalationPolicy(human_accept_deadline_seconds=60, max_human_wait_seconds=300)


def to_human(d: Driver, **routed: object) -> Driver:
    d.ok(ChoosePattern)
    d.ok(Triage, result=triage(decision(Route.HUMAN, **routed)))  # type: ignore[arg-type]
    d.ok(ReadCapacity)
    return d


def with_an_agent() -> Driver:
    d = to_human(Driver())
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-1", queue_position=1))
    d.later(1).feed(AgentAccepted(at=d.now, agent_id="agent-1"))
    return d


# -- ACD faults end in a defined, audited, truthful outcome -----------------------------------


def test_a_failed_transfer_books_the_callback_it_announces() -> None:
    d = to_human(Driver())
    d.fail(TransferToHuman, "503 from the ACD")
    booking = d.pending(BookCallback)
    assert booking.request.reason == "acd_unreachable"
    d.ok(BookCallback)
    assert d.c.closing is Outcome.CALLBACK
    assert d.c.replies_by_turn[1].text == wording.CALLBACK_CONFIRMED
    kinds = [e.kind for e in d.c.pending_audit]
    assert kinds.index("transfer_failed") < kinds.index("callback_scheduled")


def test_a_callback_that_cannot_be_booked_is_never_announced_as_booked() -> None:
    d = to_human(Driver())
    d.fail(TransferToHuman, "503 from the ACD")
    d.fail(BookCallback, "503 from the ACD")
    reply = d.c.replies_by_turn[1]
    assert reply.text == wording.CALLBACK_NOT_BOOKED and reply.kind == "closing"
    assert d.c.closing is Outcome.CALLBACK and d.c.close_reason == "callback_booking_failed"
    assert "callback_failed" in [e.kind for e in d.c.pending_audit]


def test_the_maximum_wait_with_a_booking_that_fails_says_so_in_the_transcript() -> None:
    d = to_human(Driver(), escalation=IMPATIENT)
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-1", queue_position=3))
    d.later(60).feed(DeadlineReached(at=d.now))
    d.later(240).feed(DeadlineReached(at=d.now))
    d.fail(BookCallback, "timeout")
    assert d.c.transcript[-1].text == wording.CALLBACK_NOT_BOOKED
    assert d.c.transcript[-1].sender is Sender.SYSTEM
    assert d.c.job is not None and d.c.job.kind.value == "closing", "the close goes on"


def test_a_message_the_acd_did_not_take_is_not_reported_delivered() -> None:
    d = with_an_agent()
    d.feed(CustomerMessageReceived(at=d.now, text="are you there?", ticket="u-1"))
    d.fail(ForwardToHuman, "connection reset")
    reply = d.c.replies_by_turn[2]
    assert reply.kind == "not_delivered" and reply.text == wording.NOT_DELIVERED
    assert "forward_failed" in [e.kind for e in d.c.pending_audit]


def test_a_history_recorded_before_the_change_keeps_its_old_commands() -> None:
    d = to_human(Driver(started().model_copy(update={"legacy": (changes.ACD_OUTCOMES,)})))
    d.fail(TransferToHuman, "503 from the ACD")
    assert not d.emitted(BookCallback)
    assert d.c.closing is Outcome.CALLBACK and d.c.close_reason == "acd_unreachable"


# -- idempotency and bounds of customer messages ------------------------------------------------


def ai_chat() -> Driver:
    d = Driver().to_ai(decision(max_turns=5000))
    d.ok(CallAI)
    return d


def say(d: Driver, text: str, message_id: str | None, ticket: str | None = None) -> None:
    d.feed(CustomerMessageReceived(at=d.now, text=text, message_id=message_id, ticket=ticket))


def test_a_reused_message_id_with_other_text_is_refused_with_the_reason() -> None:
    d = ai_chat()
    say(d, "Where is my parcel?", "m-1", "u-1")
    d.ok(CallAI)
    say(d, "Cancel my order", "m-1", "u-2")
    refused = [c for c in d.commands if isinstance(c, RefuseMessage)]
    assert refused and refused[0].ticket == "u-2" and refused[0].error_type == "MessageIdReused"
    assert d.c.turns == 2 and d.c.messages_refused == 1
    assert d.c.ignored[-1].startswith("customer_message: message_id m-1 was turn 2")
    say(d, "Where is my parcel?", "m-1", "u-3")
    assert [c.kind for c in d.commands] == ["deliver_reply"], "the same text gets its reply"


def test_an_old_message_id_is_refused_never_taken_as_a_new_turn() -> None:
    d = ai_chat()
    for n in range(RECENT_REPLIES_KEPT + 5):
        say(d, f"question {n}", f"m-{n}")
        d.ok(CallAI)
    assert 2 not in d.c.replies_by_turn, "turn 2's reply is out of the window"
    turns = d.c.turns
    say(d, "question 0", "m-0", "u-old")
    assert d.c.turns == turns
    assert [(c.kind, c.error_type) for c in d.commands if isinstance(c, RefuseMessage)] == [
        ("refuse_message", "ReplyNotKept")
    ]


def test_the_message_id_window_is_bounded_and_kept_in_order() -> None:
    c = ai_chat().c
    for n in range(MESSAGE_IDS_KEPT + 10):
        intake.remember(c, f"m-{n}", "text", n + 2)
    assert len(c.turn_by_message_id) == MESSAGE_IDS_KEPT == len(c.digest_by_message_id)
    assert "m-0" not in c.turn_by_message_id and f"m-{MESSAGE_IDS_KEPT + 9}" in c.turn_by_message_id


def test_queued_messages_and_turns_are_bounded() -> None:
    d = ai_chat()
    say(d, "one", None)
    for n in range(QUEUED_MAX + 1):
        say(d, f"more {n}", None, f"u-{n}")
    assert len(d.c.inbox) == QUEUED_MAX
    assert d.commands[0].error_type == "TooManyQueued"  # type: ignore[union-attr]
    c = d.c.model_copy(update={"turns": MAX_TURNS_PER_INTERACTION, "inbox": []})
    refused = intake.refusal(c, "hello", None)
    assert refused is not None and refused.error_type == "TooManyTurns"


def test_await_reply_may_not_wait_beyond_the_next_turn() -> None:
    d = ai_chat()
    assert intake.turn_refusal(None, 1) is None and intake.turn_refusal(None, 2) is not None
    assert intake.turn_refusal(d.c, 2) is None, "the next turn may be awaited"
    problem = intake.turn_refusal(d.c, 3)
    assert problem == "turn: 3 is beyond the next turn (2); it could never come"
    say(d, "queued", None)
    assert intake.turn_refusal(d.c, 3) is None, "a queued message makes room for one more"


def test_a_bad_customer_message_signal_is_counted_for_the_waiting_caller() -> None:
    d = ai_chat()
    d.feed(InputRejected(at=d.now, name="customer_message", reason="text: too long"))
    assert d.c.messages_refused == 1 and d.c.ignored == ["customer_message: text: too long"]


def test_metadata_is_bounded_with_errors_that_name_the_bound() -> None:
    body = interaction_input().model_dump(mode="json")
    cases = {
        "at most 64 keys": {f"k{n}": n for n in range(65)},
        "keys are 1 to 64 characters": {"k" * 65: 1},
        "string values are at most 1024 characters": {"note": "x" * 1025},
        "integer values are at most 2**53": {"order": 2**60},
        "Input should be a valid": {"nested": {"deep": 1}},
    }
    for expected, metadata in cases.items():
        with pytest.raises(ValidationError) as error:
            InteractionInput.model_validate(body | {"metadata": metadata})
        assert expected in str(error.value), expected
    with pytest.raises(ValidationError):
        AwaitReply(turn=MAX_TURNS_PER_INTERACTION + 1)


# -- idempotency under reuse --------------------------------------------------------------------


def test_side_effect_keys_name_the_execution_not_just_the_interaction_id() -> None:
    keys = []
    for run in ("run-a", "run-b"):
        d = Driver(started().model_copy(update={"execution_id": run})).to_ai(decision(Route.AI))
        ai_key = d.pending(CallAI).request.idempotency_key
        d.ok(CallAI, reply=ai_reply("Let me get a colleague.", AIAction.ESCALATE))
        d.ok(ReadCapacity)
        transfer_key = d.pending(TransferToHuman).request.idempotency_key
        assert ai_key.startswith(f"{d.c.workflow_id}:{run}:") and run in transfer_key
        keys += [ai_key, transfer_key]
    assert len(set(keys)) == 4, "a reused interaction id never reuses an earlier side effect"


# -- nothing written in clear ---------------------------------------------------------------------

PII_TEXTS = ["+1 415 555 0100", "jane.doe@example.com", "4111.1111.1111.1111", "123-45-6789"]


def test_close_resolution_and_hand_over_reasons_reach_the_audit_redacted() -> None:
    said = "call me on " + " or ".join(PII_TEXTS)
    d = Driver().to_ai()
    d.ok(CallAI)
    d.feed(HumanRequested(at=d.now, reason=said))
    d.ok(ReadCapacity)
    d.ok(TransferToHuman)
    d.feed(AgentAccepted(at=d.now, agent_id="agent-1"))
    d.feed(AgentResolved(at=d.now, agent_id="agent-1", resolution=said))
    d.ok(RecordOutcome)
    record = d.pending(RecordOutcome).record
    written = record.model_dump_json()
    assert all(pii not in written for pii in PII_TEXTS), written
    d2 = Driver().to_ai()
    d2.ok(CallAI)
    d2.feed(EndRequested(at=d2.now, reason=said))
    d2.ok(RecordOutcome)
    closed = d2.pending(RecordOutcome).record
    assert all(pii not in closed.model_dump_json() for pii in PII_TEXTS)
    assert any(e.kind == "closed" and "[PHONE]" in str(e.payload) for e in closed.audit)


def test_a_refusal_quoting_a_message_id_is_redacted() -> None:
    d = ai_chat()
    say(d, "hello", "jane.doe@example.com", "u-1")
    d.ok(CallAI)
    say(d, "other", "jane.doe@example.com", "u-2")
    refused = next(c for c in d.commands if isinstance(c, RefuseMessage))
    assert "jane.doe" not in refused.reason and "jane.doe" not in str(d.c.pending_audit[-1])
