"""The safety policy's output check of AI replies in the lifecycle machine: a reply that breaks
policy is held for a supervisor, refused or handed over, never sent unreviewed, and every
finding is audited."""

from __future__ import annotations

from typing import Any

from models.ai import AIAction, AIReply
from models.interaction import EscalationTrigger, InteractionState, Sender
from models.interaction_state import WaitKind
from models.lifecycle import (
    CallAI,
    CustomerMessageReceived,
    DeadlineReached,
    DeliverReply,
    ReviewDecided,
    Started,
    Triage,
)
from models.safety import ReplyCheck, ReplyFinding, ReplyFindingKind, SafetyAction
from models.supervision import ReviewDecision, ReviewResponse, SupervisionMode
from tests.warmline.lifecycle_builders import Driver, ai_reply, plan, started, success
from warmline.lifecycle import changes

PROMISE = "Good news: I've issued a full refund of $5,000 to your original payment method."
FINDINGS = [
    ReplyFinding(
        kind=ReplyFindingKind.REFUND_COMMITMENT,
        detail="refund promised; intent order_status allows no refunds",
    ),
    ReplyFinding(
        kind=ReplyFindingKind.AMOUNT_OVER_LIMIT,
        detail="amount 5,000.00 above the 0.00 intent order_status allows",
    ),
]


def check(action: SafetyAction, findings: list[ReplyFinding] | None = None) -> ReplyCheck:
    found = FINDINGS if findings is None else findings
    return ReplyCheck(
        action=action if found else SafetyAction.ALLOW,
        findings=found,
        intent="order_status",
        channel="chat",
        policy_version=7,
        reasons=["test"],
        refusal_text="Sorry, I can't promise that here." if found else None,
    )


def promised(
    safety: SafetyAction, text: str = PROMISE, action: AIAction = AIAction.REPLY
) -> AIReply:
    return ai_reply(text, action, check=check(safety))


def conversation(
    mode: SupervisionMode | None = SupervisionMode.FULLY_AUTONOMOUS, start: Started | None = None
) -> Driver:
    """An AI conversation whose first reply was clean; the second turn's call is pending."""
    d = Driver(start or started())
    d.to_ai(supervision=plan(mode) if mode else None)
    d.ok(CallAI, reply=ai_reply(check=check(SafetyAction.HOLD_FOR_REVIEW, findings=[])))
    d.feed(CustomerMessageReceived(at=d.now, text="and when will it arrive?", ticket="u-2"))
    assert d.pending(CallAI).request.channel == "chat"
    return d


def replies(d: Driver) -> list[Any]:
    return [c.reply for c in d.commands if isinstance(c, DeliverReply)]


def audited(d: Driver, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in d.c.pending_audit if e.kind == kind]


def never_sent(d: Driver) -> None:
    for entry in d.c.transcript:
        assert "5,000" not in entry.text, f"the failed draft reached the transcript: {entry}"
    for command in d.log:
        if isinstance(command, DeliverReply):
            assert "5,000" not in command.reply.text


def test_a_clean_reply_is_sent_and_nothing_is_audited() -> None:
    d = conversation()
    d.ok(CallAI, reply=ai_reply("Tomorrow.", check=check(SafetyAction.ALLOW, findings=[])))
    [reply] = replies(d)
    assert reply.text == "Tomorrow." and reply.sender is Sender.AI
    assert not audited(d, "reply_violation")


def test_held_for_review_the_draft_waits_and_each_finding_is_audited() -> None:
    d = conversation()
    d.ok(CallAI, reply=promised(SafetyAction.HOLD_FOR_REVIEW))
    assert not replies(d), "nothing reaches the customer before the review"
    wait = d.c.job.wait if d.c.job else None
    assert wait is not None and wait.kind is WaitKind.REVIEW and wait.draft is not None
    assert "refund_commitment" in wait.draft.why and "amount_over_limit" in wait.draft.why
    assert d.c.pending_draft is not None and d.c.pending_draft.text == PROMISE
    found = audited(d, "reply_violation")
    assert [f["kind"] for f in found] == ["refund_commitment", "amount_over_limit"]
    for f in found:
        assert f["action"] == "hold_for_review" and f["intent"] == "order_status"
        assert f["channel"] == "chat" and f["policy_version"] == 7 and f["turn"] == 2
        assert f["model_version"] == "care-bot:1"
    response = ReviewResponse(
        draft_id=d.c.pending_draft.draft_id, decision=ReviewDecision.REJECT, reviewer_id="sup-1"
    )
    d.feed(ReviewDecided(at=d.now, response=response))
    assert d.c.state is InteractionState.AWAITING_HUMAN
    assert d.c.escalation_trigger is EscalationTrigger.SUPERVISOR_REJECTED
    never_sent(d)


def test_a_supervisor_may_still_approve_a_held_draft() -> None:
    d = conversation()
    d.ok(CallAI, reply=promised(SafetyAction.HOLD_FOR_REVIEW))
    assert d.c.pending_draft is not None
    response = ReviewResponse(
        draft_id=d.c.pending_draft.draft_id, decision=ReviewDecision.APPROVE, reviewer_id="sup-1"
    )
    d.feed(ReviewDecided(at=d.now, response=response))
    [reply] = replies(d)
    assert reply.text == PROMISE and reply.sender is Sender.AI
    [review] = d.c.reviews
    assert review.trigger is not None and "refund_commitment" in review.trigger


def test_a_held_draft_that_runs_out_its_review_deadline_goes_to_a_human() -> None:
    d = conversation()
    d.ok(CallAI, reply=promised(SafetyAction.HOLD_FOR_REVIEW))
    d.later(31).feed(DeadlineReached(at=d.now))
    assert d.c.escalation_trigger is EscalationTrigger.REVIEW_TIMEOUT
    never_sent(d)


def test_a_hold_without_a_supervision_plan_hands_over() -> None:
    d = conversation(mode=None)
    d.ok(CallAI, reply=promised(SafetyAction.HOLD_FOR_REVIEW))
    assert d.c.escalation_trigger is EscalationTrigger.SAFETY_POLICY
    assert "refund_commitment" in (d.c.escalation_detail or "")
    never_sent(d)


def test_refused_politely_the_customer_gets_the_policy_text_and_the_conversation_goes_on() -> None:
    d = conversation()
    d.ok(CallAI, reply=promised(SafetyAction.REFUSE_POLITELY, action=AIAction.RESOLVE))
    [reply] = replies(d)
    assert reply.text == "Sorry, I can't promise that here." and reply.kind == "refused_politely"
    assert d.c.state is InteractionState.AI_ACTIVE and not d.c.resolved_by_ai
    assert [f["action"] for f in audited(d, "reply_violation")] == ["refuse_politely"] * 2
    never_sent(d)
    d.feed(CustomerMessageReceived(at=d.now, text="ok, thanks"))
    sent = d.pending(CallAI).request.messages
    assert all("5,000" not in m.content for m in sent), "the AI never sees its refused draft"


def test_handed_to_a_human() -> None:
    d = conversation()
    d.ok(CallAI, reply=promised(SafetyAction.HAND_TO_HUMAN))
    assert d.c.escalation_trigger is EscalationTrigger.SAFETY_POLICY
    assert d.c.state is InteractionState.AWAITING_HUMAN
    assert [f["action"] for f in audited(d, "reply_violation")] == ["hand_to_human"] * 2
    escalation = audited(d, "escalation")[-1]
    assert escalation["trigger"] == "safety_policy" and "5,000" not in str(escalation)
    never_sent(d)


def test_an_allow_rule_sends_the_reply_but_still_audits_the_finding() -> None:
    d = conversation()
    d.ok(CallAI, reply=promised(SafetyAction.ALLOW))
    [reply] = replies(d)
    assert reply.text == PROMISE
    assert [f["action"] for f in audited(d, "reply_violation")] == ["allow"] * 2


def test_a_draft_is_kept_redacted_when_held() -> None:
    d = conversation()
    leaky = PROMISE + " I used the card 4111 1111 1111 1111."
    d.ok(CallAI, reply=promised(SafetyAction.HOLD_FOR_REVIEW, text=leaky))
    assert d.c.pending_draft is not None and "4111" not in d.c.pending_draft.text
    assert d.c.job is not None and d.c.job.wait is not None and d.c.job.wait.draft is not None
    assert "4111" not in d.c.job.wait.draft.text


def test_a_replay_of_a_history_before_the_checks_sends_the_reply_as_it_did() -> None:
    d = conversation(start=started().model_copy(update={"legacy": (changes.REPLY_CHECKS,)}))
    d.ok(CallAI, reply=promised(SafetyAction.HAND_TO_HUMAN))
    [reply] = replies(d)
    assert reply.text == PROMISE and d.c.escalation_trigger is None
    assert not audited(d, "reply_violation")


def test_the_first_turns_reply_is_checked_too() -> None:
    d = Driver()
    d.to_ai(supervision=plan(SupervisionMode.FULLY_AUTONOMOUS))
    d.ok(CallAI, reply=promised(SafetyAction.HAND_TO_HUMAN))
    assert d.c.escalation_trigger is EscalationTrigger.SAFETY_POLICY
    assert [f["turn"] for f in audited(d, "reply_violation")] == [1, 1]
    never_sent(d)


def test_an_answer_held_for_the_turns_intent_check_is_checked_when_it_goes_on() -> None:
    d = Driver(started().model_copy(update={"turn_intents": True}))
    d.to_ai(supervision=plan(SupervisionMode.FULLY_AUTONOMOUS))
    d.ok(CallAI)
    d.feed(CustomerMessageReceived(at=d.now, text="Any news on my order?", ticket="u-2"))
    intent_check = d.pending(Triage)
    d.ok(CallAI, reply=promised(SafetyAction.HAND_TO_HUMAN))
    assert d.c.job is not None and d.c.job.held is not None, "held for the intent check"
    assert d.c.job.held.check is not None and not d.c.job.held.check.passed
    d.feed(success(intent_check, d.now))  # the same topic: the held answer is the turn's
    assert d.c.escalation_trigger is EscalationTrigger.SAFETY_POLICY
    never_sent(d)
