"""InteractionWorkflow end to end on a real Temporal dev server with loopback simulators."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.compliance import RegulatoryPolicy
from models.interaction import (
    ChannelSwitched,
    EscalationTrigger,
    OrchestrationPattern,
    Outcome,
    Pool,
    Reply,
    Route,
    Sender,
    StatusView,
)
from models.routing import EndpointRole, RoutingConfig, ThresholdRule
from simulators.ai_fleet import FaultMode, FaultRule
from tests.integration.conftest import Stack
from warmline.lifecycle import changes

pytestmark = pytest.mark.integration

CARD = "4111 1111 1111 1111"


async def status_of(handle: object) -> StatusView:
    return await handle.query("status", result_type=StatusView)  # type: ignore[attr-defined]


async def first_reply(handle: object) -> Reply:
    return await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)  # type: ignore[attr-defined]


async def send(handle: object, text: str, message_id: str | None = None) -> Reply:
    return await handle.execute_update(  # type: ignore[attr-defined]
        "send_message", {"text": text, "message_id": message_id}, result_type=Reply
    )


def force_ai(config: RoutingConfig) -> RoutingConfig:
    """Every intent to AI whatever the confidence, so a test controls the path by its text."""
    return config.model_copy(
        update={"intent_map": {}, "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)]}
    )


async def test_ai_contained_interaction_is_recorded_redacted(stack: Stack) -> None:
    await stack.use_config(force_ai)
    handle = await stack.start(
        f"I forgot my password, my email is jane.doe@example.com and card {CARD}"
    )
    reply = await first_reply(handle)
    assert reply.sender is Sender.AI and reply.model_version
    second = await send(handle, "It still does not work", message_id="m-2")
    again = await send(handle, "It still does not work", message_id="m-2")
    assert again == second, "a repeated message_id returns the earlier reply"
    closing = await send(handle, "Thanks, that solved it")
    assert closing.kind == "closing"
    result = await handle.result()

    assert result.outcome is Outcome.CONTAINED and result.pool is Pool.AI_CONTAINED
    assert result.turns == 3 and result.tokens > 0 and result.cost_usd > 0
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and facts.outcome == "contained" and facts.pool == "ai_contained"
    assert facts.classifier_version.startswith("intent-")
    status = await status_of(handle)
    texts = " ".join(e.text for e in status.transcript)
    assert "jane.doe@example.com" not in texts and CARD not in texts
    assert "[EMAIL_1]" in texts and "[CARD_1]" in texts
    sent = stack.fleet.endpoint_stats("care-bot", "2026.10").last_request
    assert sent is not None and "jane.doe" not in str(sent) and CARD not in str(sent)
    ok, bad = stack.store.verify_audit(handle.id)
    assert ok and bad is None
    kinds = [e.kind for e in stack.store.audit_trail(handle.id)]
    assert kinds[0] == "routing_decision" and kinds[-2:] == ["closed", "archived"]
    archive = stack.store.interaction_archive(result.interaction_id)
    assert archive is not None and [e.text for e in archive.transcript] == [
        e.text for e in status.transcript
    ]
    assert "jane.doe@example.com" not in archive.model_dump_json()
    assert archive.decisions[0]["route"] == "ai"


async def test_escalation_hands_the_full_context_package_to_the_acd(stack: Stack) -> None:
    await stack.use_config(force_ai)
    handle = await stack.start(
        "My refund never arrived, my phone is +44 7700 900123",
        customer={"id": "cust-9", "segment": "premium", "language": "en", "region": "eu"},
        metadata={"priority": 8, "order": "A-1001"},
    )
    await first_reply(handle)
    reply = await send(handle, "This is a matter for my lawyer now, I will take legal action")
    assert reply.kind == "handover_notice"
    transfer = stack.acd.transfer_for_interaction((await status_of(handle)).interaction_id)
    assert transfer is not None
    package = transfer.request.context
    assert package.workflow_id == handle.id
    assert package.channel.value == "chat"
    assert package.customer.id == "cust-9" and package.customer.segment == "premium"
    assert package.trigger is EscalationTrigger.AI_REQUESTED
    assert package.ai_assessment
    assert package.priority == 8 and package.metadata["order"] == "A-1001"
    assert package.intent and 0.0 <= package.confidence <= 1.0
    senders = [e.sender for e in package.transcript]
    # The customer, the EU notices the first AI reply carried, the AI, then the customer.
    assert senders[:3] == [Sender.CUSTOMER, Sender.SYSTEM, Sender.AI]
    assert Sender.CUSTOMER in senders[3:]
    assert all("7700 900123" not in e.text for e in package.transcript)
    assert transfer.request.queue

    await stack.acd.resume()
    result = await handle.result()
    assert result.outcome is Outcome.ESCALATED and result.pool is Pool.AI_ASSISTED
    assert result.escalation_trigger is EscalationTrigger.AI_REQUESTED
    assert result.handle_seconds["ai"] > 0 and result.handle_seconds["human"] > 0


async def test_explicit_request_for_a_human(stack: Stack) -> None:
    await stack.use_config(force_ai)
    by_text = await stack.start("Where is my order?")
    await first_reply(by_text)
    reply = await send(by_text, "Can I speak to a real person please")
    assert reply.kind == "handover_notice"
    assert (await status_of(by_text)).escalation_trigger is EscalationTrigger.EXPLICIT_REQUEST

    by_signal = await stack.start("Where is my order?")
    await first_reply(by_signal)
    await by_signal.signal("request_human", {"reason": "customer pressed 0"})
    await by_signal.signal("human_accepted", {"agent_id": "agent-7"})
    await by_signal.signal("human_resolved", {"agent_id": "agent-7", "csat": 4})
    result = await by_signal.result()
    assert result.escalation_trigger is EscalationTrigger.EXPLICIT_REQUEST
    assert result.outcome is Outcome.ESCALATED and result.csat == 4
    await by_text.signal("human_resolved", {"agent_id": "agent-1"})
    assert (await by_text.result()).outcome is Outcome.ESCALATED


async def test_pre_acd_routes_human_intents_straight_to_the_acd(stack: Stack) -> None:
    handle = await stack.start(
        "I want to file a formal complaint about the rude service I received yesterday"
    )
    reply = await first_reply(handle)
    assert reply.kind == "handover_notice" and reply.sender is Sender.SYSTEM
    status = await status_of(handle)
    decision = status.decisions[0]
    assert decision["pattern"] == OrchestrationPattern.PRE_ACD.value
    assert decision["route"] == Route.HUMAN.value and decision["reasons"]
    await stack.acd.resume()
    result = await handle.result()
    assert result.pool is Pool.HUMAN_ONLY and result.outcome is Outcome.HUMAN_ONLY
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and facts.ai_seconds == 0 and facts.human_seconds > 0


async def test_parallel_pattern_releases_the_reservation_when_ai_takes_it(stack: Stack) -> None:
    await stack.use_config(force_ai)
    released_before = stack.acd.stats.reservations_released
    handle = await stack.start("How do I reset my password?", metadata={"entry_point": "web_chat"})
    await first_reply(handle)
    status = await status_of(handle)
    assert status.pattern is OrchestrationPattern.PARALLEL
    assert status.decisions[0]["route"] == Route.AI.value
    assert stack.acd.stats.reservations_released == released_before + 1
    await send(handle, "thanks, bye")
    result = await handle.result()
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and facts.reservation_released and facts.pattern == "parallel"
    assert facts.saved_wait_seconds >= 0


async def test_parallel_pattern_converts_the_reservation_for_human_work(stack: Stack) -> None:
    converted_before = stack.acd.stats.reservations_converted
    handle = await stack.start(
        "I want to close my account permanently", metadata={"entry_point": "web_chat"}
    )
    reply = await first_reply(handle)
    assert reply.kind == "handover_notice"
    assert stack.acd.stats.reservations_converted == converted_before + 1
    await stack.acd.resume()
    result = await handle.result()
    assert result.pool is Pool.HUMAN_ONLY
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and not facts.reservation_released


async def test_post_classification_trusts_the_upstream_intent(stack: Stack) -> None:
    eligible = await stack.start(
        "I need my password reset",
        channel="voice",
        metadata={"entry_point": "ivr"},
        upstream_intent={"intent": "password_reset", "confidence": 0.99},
    )
    reply = await first_reply(eligible)
    assert reply.sender is Sender.AI
    status = await status_of(eligible)
    assert status.pattern is OrchestrationPattern.POST_CLASSIFICATION
    assert status.decisions[0]["route"] == Route.AI.value
    await eligible.signal("end_interaction", {"reason": "customer hung up"})
    result = await eligible.result()
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and facts.classifier_version == "upstream"

    not_eligible = await stack.start(
        "I need my password reset",
        channel="voice",
        metadata={"entry_point": "ivr"},
        upstream_intent={"intent": "fraud_report", "confidence": 0.99},
    )
    assert (await first_reply(not_eligible)).kind == "handover_notice"
    assert (await status_of(not_eligible)).decisions[0]["route"] == Route.HUMAN.value
    await not_eligible.signal("human_resolved", {"agent_id": "agent-2"})
    assert (await not_eligible.result()).pool is Pool.HUMAN_ONLY


async def test_channel_switch_reevaluates_routing_with_the_new_channel(stack: Stack) -> None:
    def voice_is_human(config: RoutingConfig) -> RoutingConfig:
        return config.model_copy(
            update={
                "intent_map": {},
                "thresholds": [
                    ThresholdRule(ai_min=0.0, monitored_min=0.0),
                    ThresholdRule(channel="voice", ai_min=1.0, monitored_min=1.0),
                ],
            }
        )

    await stack.use_config(voice_is_human)
    handle = await stack.start("Where is my parcel? It was due yesterday")
    await first_reply(handle)
    email = await handle.execute_update(
        "switch_channel",
        {"channel": "email", "reason": "customer asked for a written answer"},
        result_type=ChannelSwitched,
    )
    assert email.route is Route.AI and email.previous_channel.value == "chat"
    voice = await handle.execute_update(
        "switch_channel",
        {"channel": "voice", "reason": "customer called in"},
        result_type=ChannelSwitched,
    )
    assert voice.route is Route.HUMAN
    assert any("channel switch" in r or "switched" in r for r in voice.reasons)
    status = await status_of(handle)
    assert [s["to"] for s in status.channel_switches] == ["email", "voice"]
    assert status.escalation_trigger is EscalationTrigger.CHANNEL_SWITCH
    assert status.channel.value == "voice"
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("switch_channel", {"channel": "voice"})
    await handle.signal("human_resolved", {"agent_id": "agent-3"})
    result = await handle.result()
    facts = stack.store.get_facts(result.interaction_id)
    assert facts is not None and facts.channel_switches == 2 and facts.initial_channel == "chat"


async def test_ai_endpoint_down_sends_interactions_to_humans(stack: Stack) -> None:
    await stack.use_config(force_ai)
    stack.fleet.set_fault(FaultRule(name="care-bot", version="*", mode=FaultMode.DOWN))
    first = await stack.start("Where is my order?")
    reply = await first_reply(first)
    assert reply.kind == "handover_notice"
    assert (await status_of(first)).escalation_trigger is EscalationTrigger.AI_UNAVAILABLE
    # Retries of the first interaction and a second one open the breaker...
    second = await stack.start("Where is my order?")
    await first_reply(second)
    # ...so the next interaction is routed to a human without trying the AI.
    third = await stack.start("Where is my order?")
    assert (await first_reply(third)).kind == "handover_notice"
    decision = (await status_of(third)).decisions[0]
    assert decision["route"] == Route.HUMAN.value
    assert any("care-bot" in r and "open" in r for r in decision["reasons"]), decision["reasons"]
    for handle in (first, second, third):
        await handle.signal("human_resolved", {"agent_id": "agent-1"})
        result = await handle.result()
        assert result.outcome is Outcome.HUMAN_ONLY and result.pool is Pool.HUMAN_ONLY


async def test_invalid_input_fails_fast_and_names_the_field(stack: Stack) -> None:
    handle = await stack.client.start_workflow(
        "InteractionWorkflow",
        {
            "interaction_id": "bad-1",
            "channel": "fax",
            "customer": {"id": "c"},
            "first_message": " ",
        },
        id="interaction-bad-1",
        task_queue="interactions",
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), timeout=30)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert cause.type == "InvalidInput"
    assert "channel" in cause.message and "first_message" in cause.message


async def test_invalid_update_is_rejected_without_touching_history(stack: Stack) -> None:
    await stack.use_config(force_ai)
    handle = await stack.start("Where is my order?")
    await first_reply(handle)
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update("send_message", {"text": "", "extra": 1})
    assert "text" in str(rejected.value.cause) and "extra" in str(rejected.value.cause)
    assert (await status_of(handle)).turns == 1
    await handle.signal("end_interaction", {})
    assert (await handle.result()).outcome is Outcome.CONTAINED


async def test_long_chat_continues_as_new_without_the_client_noticing(stack: Stack) -> None:
    await stack.use_config(lambda c: force_ai(c).model_copy(update={"max_turns_per_run": 4}))
    handle = await stack.start("Question about my bill")
    await first_reply(handle)
    for turn in range(2, 16):
        reply = await send(handle, f"And another detail about invoice {turn}", f"m-{turn}")
        assert reply.turn == turn
    again = await send(handle, "And another detail about invoice 15", "m-15")
    assert again.turn == 15, "message ids survive continue-as-new"
    status = await status_of(handle)
    assert status.run_count >= 4 and status.turns == 15
    await handle.signal("end_interaction", {})
    result = await handle.result()
    assert result.turns == 15
    archived = stack.store.archived_transcript(result.interaction_id)
    assert archived and archived[0].turn == 1
    ok, _ = stack.store.verify_audit(handle.id)
    assert ok


async def change_markers(stack: Stack, workflow_id: str, run_id: str | None) -> list[str]:
    """The ``workflow.patched`` change ids one run recorded (core writes them uncoded)."""
    history = await stack.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and "patch-data" in e.marker_recorded_event_attributes.details
    ]


async def test_every_run_records_one_change_marker_the_baseline(stack: Stack) -> None:
    """Each change asked on its own would write a marker and a search-attribute upsert per
    run; the baseline stands for all of them (``warmline.lifecycle.changes``)."""
    await stack.use_config(lambda c: force_ai(c).model_copy(update={"max_turns_per_run": 2}))
    handle = await stack.start("Question about my bill")
    await first_reply(handle)
    for turn in range(2, 5):
        assert (await send(handle, f"And another detail about invoice {turn}")).turn == turn
    assert (await status_of(handle)).run_count >= 2
    await handle.signal("end_interaction", {})
    await handle.result()
    first = await change_markers(stack, handle.id, handle.run_id)
    last = await change_markers(stack, handle.id, None)
    assert first == last == [changes.BASELINE]


async def test_no_human_accepting_leads_to_a_callback_never_a_drop(stack: Stack) -> None:
    """Where no consent is needed to call back (a regulatory policy without that duty); with
    the duty, see ``test_compliance.py``."""

    def impatient(config: RoutingConfig) -> RoutingConfig:
        policy = config.escalation.model_copy(
            update={"human_accept_deadline_seconds": 1.0, "max_human_wait_seconds": 2.0}
        )
        no_consent_duty = RegulatoryPolicy(rules=[])
        return config.model_copy(update={"escalation": policy, "regulatory": no_consent_duty})

    await stack.use_config(impatient)
    handle = await stack.start("I want to close my account")
    assert (await first_reply(handle)).kind == "handover_notice"
    result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result.outcome is Outcome.CALLBACK
    status = await status_of(handle)
    assert any("call me back" in e.text for e in status.transcript)
    assert any(c.interaction_id == result.interaction_id for c in stack.acd.callbacks.values())


async def test_shadow_version_answers_are_stored_and_never_sent(stack: Stack) -> None:
    def with_shadow(config: RoutingConfig) -> RoutingConfig:
        base = force_ai(config)
        care = next(e for e in base.ai_endpoints if e.name == "care-bot")
        shadow = care.model_copy(
            update={
                "version": "2026.11-rc1",
                "role": EndpointRole.SHADOW,
                "url": care.url.replace("2026.10", "2026.11-rc1"),
            }
        )
        broken = shadow.model_copy(
            update={"version": "2026.11-rc2", "url": care.url.replace("2026.10", "2026.11-rc2")}
        )
        return base.model_copy(update={"ai_endpoints": [*base.ai_endpoints, shadow, broken]})

    await stack.use_config(with_shadow)
    handle = await stack.start("Where is my order?")
    live = await first_reply(handle)
    assert live.model_version == "care-bot:2026.10"
    await send(handle, "thanks, that's all")
    result = await handle.result()
    answers = stack.store.shadow_answers(result.interaction_id)
    assert [a.turn for a in answers] == [1, 2]
    assert all(a.endpoint == "care-bot:2026.11-rc1" and a.shadow_text for a in answers)
    assert answers[0].live_model_version == "care-bot:2026.10"
    status = await status_of(handle)
    assert all(e.sender is not Sender.AI or "rc1" not in e.text for e in status.transcript)
    assert stack.fleet.endpoint_stats("care-bot", "2026.11-rc2").calls == 0

    # A failing shadow costs the live conversation nothing.
    stack.fleet.set_fault(
        FaultRule(name="care-bot", version="2026.11-rc1", mode=FaultMode.ERROR_500)
    )
    handle = await stack.start("Where is my order?")
    assert (await first_reply(handle)).sender is Sender.AI
    await send(handle, "thanks, that's all")
    result = await handle.result()
    assert result.outcome is Outcome.CONTAINED
    failed = stack.store.shadow_answers(result.interaction_id)
    assert failed and all(a.error and "server_error" in a.error for a in failed)
