"""Issue 12 at the machine: the holes a client, a payload or an ACD fault could open in one
interaction, each closed transition by transition and without Temporal."""

from __future__ import annotations

from models.acd import TransferAck
from models.interaction import Outcome, Route, Sender
from models.lifecycle import (
    AgentAccepted,
    BookCallback,
    ChoosePattern,
    CustomerMessageReceived,
    DeadlineReached,
    ForwardToHuman,
    ReadCapacity,
    TransferToHuman,
    Triage,
)
from models.routing import EscalationPolicy
from tests.warmline.lifecycle_builders import Driver, decision, started, triage
from warmline.lifecycle import changes, wording

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
