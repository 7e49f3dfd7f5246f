"""Specialist agents and AI-to-AI hand-off on the real stack (default routing config).

A customer starts on a billing question (the billing specialist answers), moves to a technical
fault (the technical specialist takes over and receives the context package over HTTP, checked
field by field as the simulated fleet received it), then to a sales question (the second and last
hand-off), and a fourth topic goes to a human: the limit is reached.
"""

from __future__ import annotations

import pytest

from models.default_compliance import default_regulatory_policy
from models.handoff import HandoffAction, HandoffPackage
from models.interaction import EscalationTrigger, Outcome, Reply, Sender, StatusView
from tests.integration.conftest import UNSUPERVISED, Stack
from warmline.default_config import (
    BILLING_BOT,
    BILLING_BOT_VERSION,
    SALES_BOT,
    SALES_BOT_VERSION,
    TECH_BOT,
    TECH_BOT_VERSION,
)

pytestmark = pytest.mark.integration
DISCLOSURE = default_regulatory_policy().texts.ai_disclosure

BILLING = f"{BILLING_BOT}:{BILLING_BOT_VERSION}"
TECH = f"{TECH_BOT}:{TECH_BOT_VERSION}"
SALES = f"{SALES_BOT}:{SALES_BOT_VERSION}"
FIRST = (
    "There is a strange charge on my bill this month, can you explain it? "
    "My email is jane.doe@example.com"
)
TECHNICAL = "Also my internet router keeps crashing and the wifi is not working"
SALES_TOPIC = "I would like to upgrade to the premium plan with more data"
FOURTH = "I want to return the item I bought"


async def status_of(handle: object) -> StatusView:
    return await handle.query("status", result_type=StatusView)  # type: ignore[attr-defined]


async def send(handle: object, text: str) -> Reply:
    return await handle.execute_update(  # type: ignore[attr-defined]
        "send_message", {"text": text}, result_type=Reply
    )


def received(stack: Stack, agent: str) -> HandoffPackage:
    name, version = agent.split(":")
    stats = stack.fleet.endpoint_stats(name, version)
    assert stats.last_handoff is not None, f"{agent} received no context package"
    return HandoffPackage.model_validate(stats.last_handoff)


async def test_billing_to_technical_to_sales_then_a_human(stack: Stack) -> None:
    await stack.use_supervision(UNSUPERVISED)
    stack.fleet.reset()
    handle, first = await stack.open(FIRST)
    assert first.sender is Sender.AI and first.model_version == BILLING

    technical = await send(handle, TECHNICAL)
    assert technical.sender is Sender.AI and technical.model_version == TECH
    status = await status_of(handle)
    package = received(stack, TECH)
    assert package.interaction_id == status.interaction_id
    assert package.handoff_count == 1
    assert package.previous_agent == BILLING
    assert package.previous_intent == "billing_inquiry"
    assert package.new_intent == "technical_support"
    assert package.intents_seen == ["billing_inquiry", "technical_support"]
    assert package.previous_agent_turns == 1
    assert package.previous_agent_actions == ["reply"]
    # The first reply also carried the AI disclosure, which is not the agent's conclusion.
    assert first.text == f"{DISCLOSURE} {package.previous_agent_conclusion}"
    assert package.reason.startswith("topic shift billing_inquiry -> technical_support")
    assert package.reason.endswith(f"hand-off 1 of 2: {BILLING_BOT} -> {TECH_BOT}")
    assert [(t.turn, t.sender, t.text) for t in package.transcript] == [
        # The customer, the AI disclosure, the first agent, the customer again.
        (e.turn, e.sender.value, e.text)
        for e in status.transcript[:4]
    ]
    assert "[EMAIL_1]" in package.transcript[0].text
    sent = stack.fleet.endpoint_stats(TECH_BOT, TECH_BOT_VERSION).last_request
    assert "jane.doe" not in str(sent)
    assert stack.fleet.endpoint_stats(BILLING_BOT, BILLING_BOT_VERSION).handoffs_received == 0

    sales = await send(handle, SALES_TOPIC)
    assert sales.sender is Sender.AI and sales.model_version == SALES
    second = received(stack, SALES)
    assert second.handoff_count == 2 and second.previous_agent == TECH
    assert second.previous_intent == "technical_support" and second.new_intent == "upgrade_plan"
    assert second.intents_seen == ["billing_inquiry", "technical_support", "upgrade_plan"]
    assert second.previous_agent_conclusion == technical.text

    fourth = await send(handle, FOURTH)
    assert fourth.kind == "handover_notice"
    status = await status_of(handle)
    assert status.escalation_trigger is EscalationTrigger.TOPIC_SHIFT
    assert status.intents_seen[-1] == "return_item"
    actions = [h["action"] for h in status.handoffs]
    assert actions == [HandoffAction.HANDOFF, HandoffAction.HANDOFF, HandoffAction.HUMAN]
    assert [h["to_agent"] for h in status.handoffs] == [TECH, SALES, None]
    assert status.handoffs[-1]["reason"].endswith("hand-off limit 2 reached: a human takes over")
    transfer = stack.acd.transfer_for_interaction(status.interaction_id)
    assert (
        transfer is not None and transfer.request.context.trigger is EscalationTrigger.TOPIC_SHIFT
    )

    await stack.acd.resume()
    result = await handle.result()
    assert result.outcome is Outcome.ESCALATED
    audited = [e for e in stack.store.audit_trail(handle.id) if e.kind == "handoff"]
    assert [e.payload["action"] for e in audited] == ["handoff", "handoff", "human"]
    assert all(e.payload["reason"] for e in audited)
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and facts.handoffs == 2
