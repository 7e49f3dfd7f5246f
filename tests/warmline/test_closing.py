"""Pool, outcome, handle-time segments and facts of a finished interaction, from hand-built
state: the numbers WFM plans by, checked without Temporal."""

from __future__ import annotations

from typing import Any

import pytest

from models.interaction import (
    Channel,
    Customer,
    EscalationTrigger,
    InteractionInput,
    OrchestrationPattern,
    Outcome,
    Pool,
    Route,
)
from models.interaction_state import HumanLeg, InteractionCarry, Usage
from models.routing import AIEndpoint, Classification, RoutingDecision
from warmline.closing import build_facts, default_outcome, final_pool, handle_segments

T0 = "2025-03-01T10:00:00+00:00"


def at(seconds: float) -> str:
    """ISO time ``seconds`` after T0 (the workflow stores times as ISO strings)."""
    minutes, secs = divmod(seconds, 60)
    return f"2025-03-01T10:{int(minutes):02d}:{secs:06.3f}+00:00"


ENDPOINT = AIEndpoint(name="billing-bot", version="3.2", url="http://fleet.test/v1")


def decision(route: Route, *, config_version: int = 7) -> RoutingDecision:
    return RoutingDecision(
        route=route,
        pattern=OrchestrationPattern.PRE_ACD,
        intent="billing_inquiry",
        confidence=0.95,
        channel=Channel.CHAT,
        config_version=config_version,
        ai_endpoint=ENDPOINT if route is not Route.HUMAN else None,
        human_queue="general",
    )


def carry(
    route: Route | None = Route.AI,
    *,
    ai_turns: int = 0,
    trigger: EscalationTrigger | None = None,
    human: HumanLeg | None = None,
    **fields: Any,
) -> InteractionCarry:
    request = InteractionInput(
        interaction_id="demo-1",
        channel=Channel.CHAT,
        customer=Customer(id="c-42", segment="premium", language="de", region="eu"),
        first_message="I was charged twice this month",
    )
    routed = decision(route) if route is not None else None
    values: dict[str, Any] = {
        "request": request,
        "channel": Channel.CHAT,
        "started_at": T0,
        "last_activity_at": T0,
        "decision": routed,
        "decisions": [{"route": route.value}] if route is not None else [],
        "ai_turns": ai_turns,
        "escalation_trigger": trigger,
        "human": human or HumanLeg(),
    }
    return InteractionCarry(**(values | fields))


def escalated_after_ai() -> InteractionCarry:
    """AI from 0 s, escalation requested at 60 s, accepted at 90 s, resolved at 200 s."""
    return carry(
        ai_turns=3,
        trigger=EscalationTrigger.SENTIMENT,
        ai_started_at=at(0),
        ai_ended_at=at(60),
        human=HumanLeg(
            queue="general",
            agent_id="agent-7",
            requested_at=at(60),
            accepted_at=at(90),
            resolved_at=at(200),
        ),
    )


# --- pool -------------------------------------------------------------------------------


def test_ai_only_conversation_is_contained() -> None:
    c = carry(ai_turns=2, ai_started_at=at(0), ai_ended_at=at(45))
    assert final_pool(c) is Pool.AI_CONTAINED
    assert handle_segments(c, at(50)) == {"ai": 45.0, "queue": 0.0, "human": 0.0, "total": 50.0}


def test_ai_then_human_is_assisted_with_each_segment_timed() -> None:
    c = escalated_after_ai()
    assert final_pool(c) is Pool.AI_ASSISTED
    assert handle_segments(c, at(210)) == {
        "ai": 60.0,
        "queue": 30.0,
        "human": 110.0,
        "total": 210.0,
    }


def test_first_route_human_is_human_only_even_with_a_trigger() -> None:
    c = carry(Route.HUMAN, trigger=EscalationTrigger.ROUTED_TO_HUMAN)
    assert final_pool(c) is Pool.HUMAN_ONLY


def test_human_only_route_wins_over_a_later_ai_decision() -> None:
    # The pool follows the first decision; a re-route after a channel switch does not change it.
    c = carry(Route.AI, ai_turns=1, decisions=[{"route": "human"}, {"route": "ai"}])
    assert final_pool(c) is Pool.HUMAN_ONLY


def test_no_decision_and_no_ai_turns_is_human_only() -> None:
    assert final_pool(carry(None)) is Pool.HUMAN_ONLY


def test_escalated_before_any_ai_turn_is_human_only() -> None:
    c = carry(Route.AI, trigger=EscalationTrigger.AI_UNAVAILABLE)
    assert final_pool(c) is Pool.HUMAN_ONLY


def test_ai_monitored_first_route_is_assisted_without_escalation() -> None:
    c = carry(Route.AI_MONITORED, ai_turns=2)
    assert final_pool(c) is Pool.AI_ASSISTED


# --- segments ---------------------------------------------------------------------------


def test_ai_still_active_at_close_runs_to_the_close() -> None:
    c = carry(ai_turns=1, ai_started_at=at(5))
    assert handle_segments(c, at(65))["ai"] == 60.0


def test_ai_segment_ends_when_a_human_is_requested_if_no_ai_end_was_recorded() -> None:
    c = carry(ai_turns=1, ai_started_at=at(0), human=HumanLeg(requested_at=at(20)))
    assert handle_segments(c, at(100))["ai"] == 20.0


def test_never_accepted_escalation_queues_until_the_close() -> None:
    c = carry(
        ai_turns=1,
        trigger=EscalationTrigger.MAX_TURNS,
        ai_started_at=at(0),
        ai_ended_at=at(30),
        human=HumanLeg(requested_at=at(30)),
    )
    assert handle_segments(c, at(130)) == {"ai": 30.0, "queue": 100.0, "human": 0.0, "total": 130.0}


def test_human_still_working_at_close_runs_to_the_close() -> None:
    c = carry(Route.HUMAN, human=HumanLeg(requested_at=at(0), accepted_at=at(10)))
    assert handle_segments(c, at(70)) == {"ai": 0.0, "queue": 10.0, "human": 60.0, "total": 70.0}


def test_segments_never_go_negative() -> None:
    c = carry(ai_turns=1, ai_started_at=at(50), ai_ended_at=at(40))
    assert handle_segments(c, at(30)) == {"ai": 0.0, "queue": 0.0, "human": 0.0, "total": 30.0}


def test_segments_keep_milliseconds() -> None:
    c = carry(ai_turns=1, ai_started_at=at(0), ai_ended_at=at(1.2345))
    assert handle_segments(c, at(2))["ai"] == pytest.approx(1.234, abs=0.0011)


# --- outcome when the close was not explicit ------------------------------------------------


def test_silence_after_ai_turns_is_contained() -> None:
    assert default_outcome(carry(ai_turns=2)) is Outcome.CONTAINED


def test_silence_without_ai_turns_is_abandoned() -> None:
    assert default_outcome(carry(ai_turns=0)) is Outcome.ABANDONED


def test_silence_while_waiting_for_a_human_is_abandoned() -> None:
    c = carry(ai_turns=3, trigger=EscalationTrigger.SENTIMENT, human=HumanLeg(requested_at=T0))
    assert default_outcome(c) is Outcome.ABANDONED


def test_human_resolved_after_ai_is_escalated() -> None:
    assert default_outcome(escalated_after_ai()) is Outcome.ESCALATED


def test_human_resolved_without_ai_is_human_only() -> None:
    c = carry(Route.HUMAN, human=HumanLeg(accepted_at=at(5), resolved_at=at(60)))
    assert default_outcome(c) is Outcome.HUMAN_ONLY


# --- facts -----------------------------------------------------------------------------


def test_facts_of_an_escalated_interaction() -> None:
    c = escalated_after_ai()
    c.channel = Channel.VOICE
    c.channel_switches = [
        {"from": "chat", "to": "voice"},
        {"from": "voice", "to": "chat"},
        {"from": "chat", "to": "voice"},
    ]
    c.classification = Classification(intent="billing_inquiry", confidence=0.81, model_version="c9")
    c.pattern = OrchestrationPattern.PARALLEL
    c.last_model_version = "billing-bot:3.2"
    c.turns = 5
    c.csat = 4
    c.usage = Usage(prompt_tokens=120, completion_tokens=80, cost_usd=0.00040004)
    c.human.reservation_released = True
    c.human.saved_wait_seconds = 12.5
    # The latest decision re-routed to AI-monitored; facts keep the first route.
    c.decisions = [{"route": "ai"}, {"route": "ai_monitored"}]

    facts = build_facts(c, "interaction-demo-1", at(210), Outcome.ESCALATED)

    assert facts.interaction_id == "demo-1"
    assert facts.workflow_id == "interaction-demo-1"
    assert (facts.channel, facts.initial_channel) == ("voice", "chat")
    assert facts.channel_switches == 3
    assert (facts.segment, facts.language, facts.region) == ("premium", "de", "eu")
    assert (facts.intent, facts.confidence, facts.classifier_version) == (
        "billing_inquiry",
        0.81,
        "c9",
    )
    assert facts.pattern == "parallel"
    assert facts.route == "ai"
    assert facts.pool == "ai_assisted"
    assert facts.outcome == "escalated"
    assert facts.escalation_trigger == "sentiment"
    assert facts.model_version == "billing-bot:3.2"
    assert facts.config_version == 7
    assert facts.ai_endpoint == "billing-bot:3.2"
    assert (facts.human_queue, facts.human_agent) == ("general", "agent-7")
    assert (facts.started_at, facts.ended_at) == (T0, at(210))
    assert facts.turns == 5
    assert (facts.ai_seconds, facts.queue_seconds, facts.human_seconds, facts.total_seconds) == (
        60.0,
        30.0,
        110.0,
        210.0,
    )
    assert (facts.prompt_tokens, facts.completion_tokens, facts.cost_usd) == (120, 80, 0.0004)
    assert facts.csat == 4
    assert facts.reservation_released and facts.saved_wait_seconds == 12.5


def test_facts_before_any_routing_use_neutral_defaults() -> None:
    facts = build_facts(carry(None), "interaction-demo-1", at(3), Outcome.ABANDONED)
    assert facts.route == "human"
    assert facts.pool == "human_only"
    assert (facts.intent, facts.confidence, facts.classifier_version) == ("unknown", 0.0, "none")
    assert facts.pattern == "unknown"
    assert facts.config_version == 0
    assert facts.ai_endpoint is None
    assert facts.escalation_trigger is None
    assert facts.channel_switches == 0
    assert facts.total_seconds == 3.0


def test_facts_of_a_human_route_have_no_ai_endpoint() -> None:
    facts = build_facts(carry(Route.HUMAN), "interaction-demo-1", at(10), Outcome.HUMAN_ONLY)
    assert facts.route == "human" and facts.ai_endpoint is None
    assert facts.config_version == 7


# --- WFM fields: the queue an interaction counts in, time after the AI's hand-over --------------


def test_after_transfer_time_runs_from_the_hand_over_to_the_close() -> None:
    facts = build_facts(escalated_after_ai(), "interaction-demo-1", at(210), Outcome.ESCALATED)
    assert facts.after_transfer_seconds == 150.0  # requested at 60 s, closed at 210 s
    assert facts.queue == "general"


def test_no_hand_over_means_no_after_transfer_time_and_the_routed_queue() -> None:
    contained = carry(ai_turns=2, ai_started_at=at(0), ai_ended_at=at(45))
    facts = build_facts(contained, "interaction-demo-1", at(50), Outcome.CONTAINED)
    assert facts.after_transfer_seconds == 0.0
    assert facts.queue == "general"  # routing's queue, though no human took part
    human_only = carry(Route.HUMAN, human=HumanLeg(queue="billing", requested_at=at(1)))
    facts = build_facts(human_only, "interaction-demo-1", at(90), Outcome.HUMAN_ONLY)
    assert facts.after_transfer_seconds == 0.0 and facts.queue == "billing"
