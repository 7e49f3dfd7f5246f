"""The regulatory duties end to end (issue #14, item 5) on the real dev server, with the simulated
ACD over loopback HTTP: the notices a jurisdiction requires reach the customer in the first AI
reply, a request for a human is honoured at once where the right to a human applies (even while
the spillover would deflect), and no callback is booked without a recorded yes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cli.demo import CONSENT_WORDS, drive_interaction
from models.default_compliance import default_regulatory_policy
from models.interaction import EscalationTrigger, InteractionResult, Outcome, Sender
from models.routing import EscalationPolicy, RoutingConfig, SpilloverPolicy
from simulators.ai_fleet import FaultMode, FaultRule
from simulators.traffic import ScriptedInteraction
from tests.integration.conftest import Stack
from tests.integration.test_acd_failures import FRAUD, audited, callbacks_for
from tests.integration.test_interaction import force_ai, send, status_of
from tests.polling import until
from warmline.lifecycle import wording

pytestmark = pytest.mark.integration

TEXTS = default_regulatory_policy().texts
QUESTION = "Where is my order? It has not arrived"


def crowded(config: RoutingConfig) -> RoutingConfig:
    """Every intent to AI, and a spillover that deflects a low-priority hand-over to self-service
    and calls a voice caller back instead of holding while the general queue has no agent."""
    spillover = SpilloverPolicy(
        deflect_max_priority=2,
        deflect_when_wait_above_seconds=60,
        voice_callback_when_wait_above_seconds=60,
        max_queued_per_agent=2,
    )
    return force_ai(config).model_copy(update={"spillover": spillover})


def customer(jurisdiction: str) -> dict[str, Any]:
    """One customer per interaction (the abuse limits count starts per customer)."""
    return {"id": f"cust-{uuid.uuid4().hex[:10]}", "jurisdiction": jurisdiction}


def transfers_for(stack: Stack, interaction_id: str) -> list[Any]:
    return [
        t
        for t in stack.acd.transfers.values()
        if t.request.context.interaction_id == interaction_id
    ]


def compliance_steps(stack: Stack, result: InteractionResult, event: str) -> list[dict[str, Any]]:
    return [p for p in audited(stack, result, "compliance") if p["event"] == event]


async def test_an_adm_notice_customer_sees_the_notice_and_gets_a_human_at_once(
    stack: Stack,
) -> None:
    saved = await stack.use_config(crowded)
    await stack.acd.set_agents("general", 0)
    handle, reply = await stack.open(QUESTION, channel="voice", customer=customer("us-ca"))
    assert reply.sender is Sender.AI
    notices = f"{TEXTS.ai_disclosure} {TEXTS.automated_decision} {TEXTS.recording} "
    assert reply.text.startswith(notices)
    status = await status_of(handle)
    assert status.compliance is not None
    assert status.compliance["notices"] == ["ai_disclosure", "automated_decision", "recording"]

    asked = await send(handle, "I want to talk to a human please")
    assert asked.kind == "handover_notice", "transferred, though the spillover would call back"
    assert TEXTS.automated_decision not in asked.text, "each notice once"
    iid = handle.id.removeprefix("interaction-")
    [transfer] = transfers_for(stack, iid)
    assert transfer.request.context.trigger is EscalationTrigger.EXPLICIT_REQUEST
    ai_calls = sum(1 for e in (await status_of(handle)).transcript if e.sender is Sender.AI)
    assert ai_calls == 1, "no AI turn between the request and the hand-over"
    await handle.signal("end_interaction", {})
    result = await handle.result()
    assert [p["reasons"] for p in audited(stack, result, "spillover")] == [
        ["right to a human: at once"]
    ]
    assert callbacks_for(stack, iid) == []
    [requested] = compliance_steps(stack, result, "human_requested")
    assert "right to a human applies: handed over at once" in requested["reasons"]
    assert requested["policy_version"] == saved.version and requested["jurisdiction"] == "us-ca"

    # Where no right to a human applies, the same request meets the spillover: a voice caller
    # is offered a callback instead of the hold (and asked for consent first).
    other, _ = await stack.open(QUESTION, channel="voice", customer=customer("us-tx"))
    offered = await send(other, "I want to talk to a human please")
    assert offered.kind == "consent_request"
    assert transfers_for(stack, other.id.removeprefix("interaction-")) == []
    await other.signal("end_interaction", {})
    await other.result()


async def test_the_request_human_signal_is_honoured_at_once_in_the_eu(stack: Stack) -> None:
    await stack.use_config(crowded)
    await stack.acd.set_agents("general", 0)
    handle, reply = await stack.open(QUESTION, customer=customer("eu-de"), metadata={"priority": 0})
    assert reply.text.startswith(TEXTS.ai_disclosure)
    await handle.signal("request_human", {"reason": "pressed the human button"})
    status = await until(
        lambda: status_of(handle),
        lambda s: s.escalation_trigger is EscalationTrigger.EXPLICIT_REQUEST,
        "the hand-over",
    )
    await until(
        lambda: status_of(handle),
        lambda s: any(e.text.startswith("I'm connecting you") for e in s.transcript),
        "the transfer",
    )
    assert status.state.value == "awaiting_human"
    assert len(transfers_for(stack, handle.id.removeprefix("interaction-"))) == 1
    await handle.signal("end_interaction", {})
    await handle.result()


async def test_no_callback_without_a_recorded_yes_when_the_acd_is_unreachable(
    stack: Stack,
) -> None:
    stack.acd.fail("transfer", 422, times=2)  # the specialist queue, then general
    handle, reply = await stack.open(FRAUD, customer=customer("us"))
    assert reply.kind == "consent_request" and reply.text == TEXTS.callback_consent
    iid = handle.id.removeprefix("interaction-")
    assert callbacks_for(stack, iid) == [], "asked, not booked"
    declined = await send(handle, "No, don't call me", message_id="answer-1")
    assert declined.text == wording.NO_CALLBACK_NO_AGENT
    result = await handle.result()
    assert result.outcome is Outcome.ABANDONED and result.close_reason == "no_callback_consent"
    assert callbacks_for(stack, iid) == []
    [answered] = compliance_steps(stack, result, "consent_answered")
    assert answered["consent"]["granted"] is False
    assert answered["consent"]["message_id"] == "answer-1"


async def test_a_yes_books_exactly_one_callback_with_the_consent_in_the_audit(
    stack: Stack,
) -> None:
    stack.acd.fail("transfer", 422, times=2)
    handle, reply = await stack.open(FRAUD, customer=customer("us"))
    assert reply.kind == "consent_request"
    booked = await send(handle, "Yes, that's fine", message_id="answer-1")
    assert booked.text == wording.CALLBACK_CONFIRMED
    result = await handle.result()
    assert result.outcome is Outcome.CALLBACK
    assert len(callbacks_for(stack, result.interaction_id)) == 1
    [answered] = compliance_steps(stack, result, "consent_answered")
    record = answered["consent"]
    assert record["granted"] is True and record["message_id"] == "answer-1"
    assert record["asked_text"] == TEXTS.callback_consent and record["at"]
    assert answered["policy_version"] >= 1 and answered["jurisdiction"] == "us"
    status = await status_of(handle)
    assert status.compliance is not None
    assert [c["granted"] for c in status.compliance["consents"]] == [True]


async def test_a_voice_caller_who_says_no_stays_in_the_queue_and_is_not_called(
    stack: Stack,
) -> None:
    await stack.use_config(crowded)
    await stack.acd.set_agents("general", 0)
    stack.fleet.set_fault(FaultRule(mode=FaultMode.DOWN))  # the AI hands over at once
    handle, reply = await stack.open(
        QUESTION, channel="voice", customer=customer("us-ca"), metadata={"priority": 5}
    )
    assert reply.kind == "consent_request", reply
    declined = await send(handle, "no")
    assert declined.kind == "handover_notice"
    iid = handle.id.removeprefix("interaction-")
    assert callbacks_for(stack, iid) == [] and len(transfers_for(stack, iid)) == 1
    await handle.signal("end_interaction", {})
    await handle.result()


async def test_the_offer_after_the_accept_deadline_books_only_on_a_yes(stack: Stack) -> None:
    def impatient(config: RoutingConfig) -> RoutingConfig:
        policy = EscalationPolicy(human_accept_deadline_seconds=1.0, max_human_wait_seconds=600)
        return config.model_copy(update={"escalation": policy})

    await stack.use_config(impatient)
    handle, reply = await stack.open("I want to close my account", customer=customer("us"))
    assert reply.kind == "handover_notice"
    await until(
        lambda: status_of(handle),
        lambda s: s.compliance is not None and s.compliance["pending_consent"] == "callback",
        "the callback offer",
    )
    iid = handle.id.removeprefix("interaction-")
    assert callbacks_for(stack, iid) == []
    assert (await send(handle, "yes please call me back")).text == wording.CALLBACK_CONFIRMED
    result = await handle.result()
    assert result.outcome is Outcome.CALLBACK and len(callbacks_for(stack, iid)) == 1


async def test_the_demo_customer_agrees_to_the_callback_it_is_asked_about(stack: Stack) -> None:
    """``make demo`` and the scenarios drive scripted customers: asked for consent, they say
    yes (else each would wait out the maximum wait and skew the scenario's counts)."""
    stack.acd.fail("transfer", 422, times=2)
    body = stack.body(FRAUD, "chat", customer=customer("us"))
    script = ScriptedInteraction(input=body, intent="fraud_report", ends_with="thanks")
    result = await drive_interaction(stack.client, script)
    assert result.outcome is Outcome.CALLBACK
    assert len(callbacks_for(stack, result.interaction_id)) == 1
    [answered] = compliance_steps(stack, result, "consent_answered")
    assert answered["consent"]["answer"] == CONSENT_WORDS
