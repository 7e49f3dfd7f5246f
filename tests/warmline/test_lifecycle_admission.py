"""Abuse limits in the lifecycle machine: what each answer of the gate does to a start or turn."""

from __future__ import annotations

from models.abuse import LimitAnswer, LimitStage
from models.interaction import Outcome, Sender
from models.interaction_state import WaitKind
from models.lifecycle import (
    CallAI,
    CheckAdmission,
    ChoosePattern,
    CustomerMessageReceived,
    DeadlineReached,
    DeliverReply,
    RecordOutcome,
    ReserveHuman,
    TransferToHuman,
    Triage,
)
from tests.warmline.lifecycle_builders import Driver, admission, started


def gated(first: str = "Where is my order?", **fields: object) -> Driver:
    start = started(first, **fields)
    return Driver(start.model_copy(update={"safety": True}))


def test_without_the_patch_no_check_is_asked() -> None:
    d = Driver()
    assert d.kinds() == ["choose_pattern"]
    assert not d.c.safety_gates


def test_an_allowed_start_opens_as_before() -> None:
    d = gated(metadata={"tenant": "shop-a", "entry_point": "web_chat"})
    check = d.pending(CheckAdmission)
    assert check.request.stage is LimitStage.START
    assert (check.request.customer_id, check.request.tenant) == ("c-1", "shop-a")
    assert check.request.entry_point == "web_chat"
    assert d.ok(CheckAdmission) and d.kinds() == ["choose_pattern"]


def test_a_throttled_start_ends_at_once_with_the_reason_and_no_queue() -> None:
    d = gated()
    d.ok(CheckAdmission, decision=admission(LimitAnswer.THROTTLED, retry_after=42.0))
    d.ok(RecordOutcome)
    assert d.c.finished and d.c.outcome is Outcome.THROTTLED
    assert "abuse limit" in (d.c.close_reason or "")
    reply = d.c.replies_by_turn[1]
    assert reply.kind == "throttled" and "42 seconds" in reply.text
    assert not d.emitted(ChoosePattern) and not d.emitted(Triage)
    assert not d.emitted(ReserveHuman) and not d.emitted(TransferToHuman)
    kinds = [e.kind for e in d.c.pending_audit] + [
        e.kind for e in d.pending(RecordOutcome).record.audit
    ]
    assert "abuse_limit" in kinds


def test_a_refused_start_is_refused() -> None:
    d = gated()
    d.ok(CheckAdmission, decision=admission(LimitAnswer.REFUSED))
    d.ok(RecordOutcome)
    assert d.c.outcome is Outcome.REFUSED
    assert d.c.replies_by_turn[1].kind == "refused"
    result = d.emitted(RecordOutcome)[-1].record.facts
    assert result.outcome == Outcome.REFUSED.value


def test_a_queued_start_is_held_then_opened_without_counting_again() -> None:
    d = gated()
    d.ok(CheckAdmission, decision=admission(LimitAnswer.QUEUED, retry_after=30.0))
    assert d.c.job is not None and d.c.job.wait is not None
    assert d.c.job.wait.kind is WaitKind.ABUSE_HOLD and d.c.job.wait.timer
    assert d.feed(DeadlineReached(at=d.later(10).now)) == []  # not yet
    d.later(20).feed(DeadlineReached(at=d.now))
    assert d.kinds() == ["choose_pattern"]
    assert len(d.emitted(CheckAdmission)) == 1


def test_a_failed_check_lets_the_start_through_on_the_record() -> None:
    d = gated()
    d.fail(CheckAdmission, error="database is locked")
    assert d.kinds() == ["choose_pattern"]
    assert any(e.kind == "abuse_check_failed" for e in d.c.pending_audit)


def ai_conversation() -> Driver:
    d = gated()
    d.ok(CheckAdmission)
    d.to_ai()
    d.ok(CallAI)
    return d


def test_every_turn_is_checked_and_an_allowed_one_reaches_the_ai() -> None:
    d = ai_conversation()
    d.feed(CustomerMessageReceived(at=d.now, text="and the invoice?", ticket="u-1"))
    check = d.pending(CheckAdmission)
    assert check.request.stage is LimitStage.TURN and check.request.text == "and the invoice?"
    d.ok(CheckAdmission)
    assert d.kinds() == ["call_ai"]


def test_a_throttled_turn_is_answered_and_passed_to_no_one() -> None:
    d = ai_conversation()
    calls = len(d.emitted(CallAI))
    d.feed(CustomerMessageReceived(at=d.now, text="spam spam spam", ticket="u-1"))
    d.ok(CheckAdmission, decision=admission(LimitAnswer.THROTTLED, retry_after=5.0))
    [reply] = [c for c in d.commands if isinstance(c, DeliverReply)]
    assert reply.reply.kind == "throttled" and reply.reply.sender is Sender.SYSTEM
    assert len(d.emitted(CallAI)) == calls and d.c.closing is None
    d.feed(CustomerMessageReceived(at=d.later(6).now, text="ok, where is it?"))
    d.ok(CheckAdmission)
    assert d.kinds() == ["call_ai"]


def test_a_refused_turn_ends_the_interaction() -> None:
    d = ai_conversation()
    d.feed(CustomerMessageReceived(at=d.now, text="buy cheap watches now", ticket="u-1"))
    d.ok(CheckAdmission, decision=admission(LimitAnswer.REFUSED))
    assert d.c.state.value == "closed" and d.c.outcome is Outcome.REFUSED
    assert not d.emitted(TransferToHuman)
