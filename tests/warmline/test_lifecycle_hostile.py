"""Issue 12 at the machine: the holes a client, a payload or an ACD fault could open in one
interaction, each closed transition by transition and without Temporal."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from models.acd import TransferAck
from models.ai import AIAction
from models.interaction import (
    MAX_TURNS_PER_INTERACTION,
    AwaitReply,
    Channel,
    InteractionInput,
    Outcome,
    Route,
    Sender,
)
from models.interaction_state import MESSAGE_IDS_KEPT, QUEUED_MAX, RECENT_REPLIES_KEPT
from models.lifecycle import (
    AgentAccepted,
    AgentResolved,
    ArchiveRun,
    BookCallback,
    CallAI,
    ChannelSwitchRequested,
    ChoosePattern,
    CommandFailed,
    ContinueAsNew,
    ContinueAsNewSuggested,
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
from warmline.lifecycle.closing import CARRIED_TEXT_MAX

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
    assert intake.turn_refusal(d.c, 3, arriving=1) is None, "a message on its way counts too"
    assert intake.turn_refusal(d.c, 4, arriving=1) is not None
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


# -- a close during continue-as-new ---------------------------------------------------------------


def test_a_close_during_the_archive_or_after_the_continue_was_decided_closes() -> None:
    """The executor feeds an event that arrives while it waits to continue as new before it
    continues (``boundary.continue_as_new`` returns when the run is not idle): a close at any
    moment of the continue-as-new is the close, never lost to the next run."""
    d = with_an_agent()
    d.feed(ContinueAsNewSuggested(at=d.now))
    assert d.kinds() == ["archive_run"]
    d.feed(EndRequested(at=d.now, reason="hung up"))
    d.ok(ArchiveRun)
    assert d.kinds() == ["withdraw_transfer"] and not d.emitted(ContinueAsNew)
    late = with_an_agent()
    late.feed(ContinueAsNewSuggested(at=late.now))
    late.ok(ArchiveRun)
    assert late.kinds() == ["continue_as_new"]
    late.feed(EndRequested(at=late.now, reason="hung up"))
    assert late.kinds() == ["withdraw_transfer"], "the run closes instead of continuing"


def test_an_accept_naming_another_transfer_is_not_this_interactions_agent() -> None:
    d = to_human(Driver())
    d.ok(TransferToHuman, ack=TransferAck(transfer_id="t-1", queue_position=1))
    d.feed(AgentAccepted(at=d.now, agent_id="intruder", transfer_id="t-other"))
    assert d.c.human.agent_id is None and d.c.ignored == [
        "human_accepted: human_accepted names another transfer"
    ]
    d.feed(AgentAccepted(at=d.now, agent_id="agent-1", transfer_id="t-1"))
    assert d.c.human.agent_id == "agent-1"


def test_a_store_that_cannot_archive_never_grows_the_carried_state_without_bound() -> None:
    long = "lorem ipsum " * 1_600  # 19,200 characters
    d = Driver().to_ai(decision(max_turns=5000, max_turns_per_run=200))
    d.ok(CallAI)
    for n in range(40):
        say(d, f"{n} {long}", None)
        d.ok(CallAI)
    d.feed(ContinueAsNewSuggested(at=d.now))
    d.fail(ArchiveRun, "store down for a day")
    assert d.kinds() == ["continue_as_new"]
    carried = sum(len(e.text) for e in d.c.transcript)
    attempted = d.pending(ArchiveRun).flush.archive.entries
    assert carried <= CARRIED_TEXT_MAX < carried + sum(len(e.text) for e in attempted)
    kinds = [e.kind for e in d.c.pending_audit]
    assert "archive_failed" in kinds and "transcript_not_archived" in kinds


def test_requests_for_a_human_and_channel_switches_cannot_flood_the_state() -> None:
    d = ai_chat()
    say(d, "one", None)  # a turn runs: what follows queues
    for _ in range(30):
        d.feed(HumanRequested(at=d.now, reason="agent please"))
    queued = [item for item in d.c.inbox if item.kind == "request_human"]
    assert len(queued) == 1 and d.c.ignored[-1] == "request_human: request_human already queued"
    for n in range(intake.SWITCHES_QUEUED_MAX + 2):
        channel = Channel.EMAIL if n % 2 else Channel.VOICE
        d.feed(ChannelSwitchRequested(at=d.now, channel=channel, reason="r", ticket=f"s-{n}"))
    assert sum(item.kind == "switch_channel" for item in d.c.inbox) == intake.SWITCHES_QUEUED_MAX
    unchanged = [c for c in d.commands if c.kind == "deliver_switch"]
    assert unchanged and "already wait" in unchanged[0].answer.reasons[0]
    full = d.c.model_copy(
        update={"channel_switches": [{}] * intake.MAX_CHANNEL_SWITCHES, "inbox": []}
    )
    assert intake.switch_refusal(full) == "the interaction took its 50 channel switches"


def test_a_queue_the_acd_refuses_is_tried_once_as_the_default_queue() -> None:
    d = Driver()
    d.ok(ChoosePattern)
    routed = decision(Route.HUMAN).model_copy(update={"human_queue": "billing"})
    d.ok(Triage, result=triage(routed))
    d.ok(ReadCapacity)
    assert d.pending(TransferToHuman).request.queue == "billing"
    d.feed(failure_of(d, TransferToHuman, "ACD rejected POST /transfers: HTTP 422", "AcdRejected"))
    again = d.pending(TransferToHuman)
    assert again.request.queue == "general" and len(d.emitted(TransferToHuman)) == 2
    d.feed(failure_of(d, TransferToHuman, "ACD rejected POST /transfers: HTTP 422", "AcdRejected"))
    assert d.kinds() == ["book_callback"], "the default queue refused too: a callback"
    audit = [(e.kind, e.payload) for e in d.c.pending_audit if "transfer" in e.kind]
    assert audit[1] == ("transfer_rerouted", {"from": "billing", "to": "general"})


def test_an_unreachable_acd_is_not_rerouted() -> None:
    d = Driver()
    d.ok(ChoosePattern)
    routed = decision(Route.HUMAN).model_copy(update={"human_queue": "billing"})
    d.ok(Triage, result=triage(routed))
    d.ok(ReadCapacity)
    d.feed(failure_of(d, TransferToHuman, "connection refused", "ConnectError"))
    assert d.kinds() == ["book_callback"]


def failure_of(d: Driver, kind: type[Any], error: str, error_type: str) -> CommandFailed:
    command = d.pending(kind)
    return CommandFailed(at=d.now, op=command.op, error=error, error_type=error_type)
