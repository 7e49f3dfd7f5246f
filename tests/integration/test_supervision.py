"""Supervisors approve, edit and reject AI drafts by signal; semi-autonomous triggers fire."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import pytest
from temporalio.client import WorkflowHandle

from models.default_compliance import default_regulatory_policy
from models.interaction import EscalationTrigger, Outcome, Reply, Sender, StatusView
from models.routing import RoutingConfig, ThresholdRule
from models.supervision import (
    ModeRule,
    SemiAutonomousTriggers,
    SupervisionMode,
    SupervisionPolicy,
)
from tests.integration.conftest import Stack
from tests.polling import eventually

pytestmark = pytest.mark.integration
DISCLOSURE = default_regulatory_policy().texts.ai_disclosure
T = TypeVar("T")
QUESTION = "Where is my order? It has not arrived yet"


def to_ai(config: RoutingConfig) -> RoutingConfig:
    return config.model_copy(
        update={"intent_map": {}, "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)]}
    )


def supervised(deadline: float = 30.0) -> SupervisionPolicy:
    return SupervisionPolicy(
        default_mode=SupervisionMode.FULLY_SUPERVISED, review_deadline_seconds=deadline
    )


async def status(handle: WorkflowHandle[Any, Any]) -> StatusView:
    return await handle.query("status", result_type=StatusView)


async def held_draft(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return (await status(handle)).pending_draft

    return await eventually(probe)


async def first_reply_task(handle: WorkflowHandle[Any, Any]) -> asyncio.Task[Reply]:
    return asyncio.create_task(handle.execute_update("await_reply", {"turn": 1}, result_type=Reply))


async def test_approved_draft_reaches_the_customer_exactly(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(supervised())
    handle = await stack.start(QUESTION)
    reply = await first_reply_task(handle)
    draft = await held_draft(handle)
    assert not reply.done(), "nothing reaches the customer before the review"

    async def listed() -> list[str] | None:
        found = [
            e.id
            async for e in stack.client.list_workflows("WarmlinePendingReview = true")
            if e.id == handle.id
        ]
        return found or None

    assert await eventually(listed) == [handle.id], "the worklist query finds the review"
    await handle.signal(
        "review_response",
        {"draft_id": draft["draft_id"], "decision": "approve", "reviewer_id": "sup-1"},
    )
    sent = await reply
    # The first AI reply also carries the jurisdiction's AI disclosure (not part of the draft).
    assert sent.sender is Sender.AI and sent.text == f"{DISCLOSURE} {draft['text']}"
    await handle.signal("end_interaction", {})
    result = await handle.result()
    reviews = stack.store.reviews_for(result.interaction_id)
    assert [(r.decision.value, r.reviewer_id) for r in reviews] == [("approve", "sup-1")]
    assert (await status(handle)).pending_draft is None


async def test_edited_draft_replaces_the_ai_text(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(supervised())
    handle = await stack.start(QUESTION)
    reply = await first_reply_task(handle)
    draft = await held_draft(handle)
    edited = "Your parcel left our depot today; reach me at ops@example.com if it is late."
    await handle.signal(
        "review_response",
        {
            "draft_id": draft["draft_id"],
            "decision": "edit",
            "reviewer_id": "sup-2",
            "edited_text": edited,
            "reason": "carrier update",
        },
    )
    sent = await reply
    assert sent.text == (
        f"{DISCLOSURE} Your parcel left our depot today; reach me at [EMAIL] if it is late."
    )
    await handle.signal("end_interaction", {})
    result = await handle.result()
    overrides = stack.store.overrides_for(result.interaction_id)
    assert [o.kind.value for o in overrides] == ["draft_replaced"]
    assert overrides[0].actor == "sup-2" and overrides[0].ai_decision == draft["text"]


async def test_rejected_draft_is_never_sent_and_escalates(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(supervised())
    handle = await stack.start(QUESTION)
    reply = await first_reply_task(handle)
    draft = await held_draft(handle)
    await handle.signal(
        "review_response",
        {
            "draft_id": draft["draft_id"],
            "decision": "reject",
            "reviewer_id": "sup-3",
            "reason": "wrong policy, customer is jane@example.com",
        },
    )
    sent = await reply
    assert sent.kind == "handover_notice" and draft["text"] not in sent.text
    view = await status(handle)
    assert view.escalation_trigger is EscalationTrigger.SUPERVISOR_REJECTED
    assert all(e.sender is not Sender.AI for e in view.transcript)
    await handle.signal("human_resolved", {"agent_id": "agent-4"})
    assert (await handle.result()).pool.value == "ai_assisted"
    # The reviewer's free-text reason is redacted before it enters the audit chain.
    audited = [e for e in stack.store.audit_trail(handle.id) if e.kind == "review_decision"]
    assert audited[0].payload["reason"] == "wrong policy, customer is [EMAIL]"
    assert audited[0].actor == "sup-3"


async def test_review_deadline_escalates(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(supervised(deadline=1.0))
    handle = await stack.start(QUESTION)
    sent = await (await first_reply_task(handle))
    assert sent.kind == "handover_notice"
    assert (await status(handle)).escalation_trigger is EscalationTrigger.REVIEW_TIMEOUT
    await handle.signal("human_resolved", {"agent_id": "agent-5"})
    result = await handle.result()
    reviews = stack.store.reviews_for(result.interaction_id)
    assert [(r.decision.value, r.reviewer_id) for r in reviews] == [("reject", "warmline")]


def semi(**triggers: Any) -> SupervisionPolicy:
    return SupervisionPolicy(
        default_mode=SupervisionMode.SEMI_AUTONOMOUS,
        triggers=SemiAutonomousTriggers(
            **{
                "monetary_amount_above": None,
                "sentiment_below": None,
                "duration_above_seconds": None,
                "flagged_topics": [],
                **triggers,
            }
        ),
        review_deadline_seconds=30,
    )


async def test_semi_autonomous_amount_needs_approval(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(semi(monetary_amount_above=500))
    handle = await stack.start(QUESTION)
    assert (await (await first_reply_task(handle))).sender is Sender.AI, "no trigger: no hold"
    turn = asyncio.create_task(
        handle.execute_update(
            "send_message", {"text": "I want the $1,250.00 charge refunded"}, result_type=Reply
        )
    )
    draft = await held_draft(handle)
    await handle.signal(
        "review_response",
        {"draft_id": draft["draft_id"], "decision": "approve", "reviewer_id": "sup-6"},
    )
    assert (await turn).text == draft["text"]
    await handle.signal("end_interaction", {})
    result = await handle.result()
    records = stack.store.reviews_for(result.interaction_id)
    assert records and records[0].trigger and "1,250.00" in records[0].trigger


async def test_semi_autonomous_low_sentiment_hands_over(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(semi(sentiment_below=-0.2))
    handle = await stack.start("Hello, I have a question about my order")
    assert (await (await first_reply_task(handle))).sender is Sender.AI
    reply = await handle.execute_update(
        "send_message", {"text": "I am not happy with this"}, result_type=Reply
    )
    assert reply.kind == "handover_notice"
    view = await status(handle)
    assert view.escalation_trigger is EscalationTrigger.SUPERVISION_TRIGGER
    await handle.signal("human_resolved", {"agent_id": "agent-7"})
    assert (await handle.result()).outcome is Outcome.ESCALATED


async def test_semi_autonomous_long_interaction_hands_over(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(semi(duration_above_seconds=0.001))
    handle = await stack.start("Hello, I have a question about my order")
    reply = await (await first_reply_task(handle))
    assert reply.kind == "handover_notice", "any turn after the limit goes to a human"
    assert (await status(handle)).escalation_trigger is EscalationTrigger.SUPERVISION_TRIGGER
    await handle.signal("human_resolved", {"agent_id": "agent-8"})
    assert (await handle.result()).outcome is Outcome.HUMAN_ONLY


async def test_flagged_topic_needs_approval(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(semi(flagged_topics=["policy override"]))
    handle = await stack.start(QUESTION)
    await (await first_reply_task(handle))
    turn = asyncio.create_task(
        handle.execute_update(
            "send_message", {"text": "Can you do a policy override for me?"}, result_type=Reply
        )
    )
    draft = await held_draft(handle)
    await handle.signal(
        "review_response",
        {"draft_id": draft["draft_id"], "decision": "approve", "reviewer_id": "sup-8"},
    )
    assert (await turn).sender is Sender.AI
    await handle.signal("end_interaction", {})
    await handle.result()


async def test_fully_autonomous_interactions_are_sampled_for_qa(stack: Stack) -> None:
    await stack.use_config(to_ai)
    await stack.use_supervision(
        SupervisionPolicy(
            modes=[ModeRule(mode=SupervisionMode.FULLY_AUTONOMOUS)], qa_sample_rate=1.0
        )
    )
    handle = await stack.start(QUESTION)
    await (await first_reply_task(handle))
    await handle.signal("end_interaction", {})
    result = await handle.result()
    facts = stack.store.supervision_facts(result.interaction_id)
    assert facts is not None and facts.qa_sampled and facts.mode is SupervisionMode.FULLY_AUTONOMOUS
