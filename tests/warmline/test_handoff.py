"""The pure hand-off decision (``warmline.handoff``): properties over any conversation state,
and the examples the README tells."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from models.handoff import HandoffAction, HandoffPolicy
from models.interaction import (
    Channel,
    EscalationTrigger,
    OrchestrationPattern,
    Route,
    Sender,
    TranscriptEntry,
)
from models.lifecycle import (
    AIReplied,
    CallAI,
    CustomerMessageReceived,
    DeliverReply,
    PatternChosen,
    Started,
    Triage,
    Triaged,
)
from models.routing import AIEndpoint, Classification, RoutingDecision
from models.triage import TriageResult
from tests.warmline.lifecycle_builders import (
    CARE,
    TECH,
    WORKFLOW_ID,
    ai_reply,
    at,
    decision,
    interaction_input,
)
from tests.warmline.lifecycle_builders import pattern as chosen
from tests.warmline.lifecycle_builders import triage as triaged
from warmline.handoff import context_package, decide_handoff
from warmline.lifecycle import step

AGENTS = ["care-bot", "billing-bot", "tech-bot", "sales-bot"]
INTENTS = ["billing_inquiry", "technical_support", "upgrade_plan", "order_status", "oos"]


def routed(intent: str, agent: str | None, route: Route = Route.AI) -> RoutingDecision:
    endpoint = (
        AIEndpoint(name=agent, version="1", url=f"http://fleet.test/{agent}/v1") if agent else None
    )
    return RoutingDecision(
        route=route if agent else Route.HUMAN,
        pattern=OrchestrationPattern.PRE_ACD,
        intent=intent,
        confidence=0.99,
        channel=Channel.CHAT,
        config_version=1,
        ai_endpoint=endpoint,
        human_queue="general",
        reasons=[f"routed {intent}"],
    )


def classified(intent: str, confidence: float = 0.99) -> Classification:
    return Classification(
        intent=intent, confidence=confidence, out_of_scope=intent == "oos", model_version="t"
    )


@given(
    current=st.sampled_from(AGENTS),
    left=st.none() | st.sampled_from(AGENTS),
    current_intent=st.sampled_from(INTENTS),
    intent=st.sampled_from(INTENTS),
    confidence=st.floats(0.0, 1.0),
    target=st.none() | st.sampled_from(AGENTS),
    route=st.sampled_from([Route.AI, Route.AI_MONITORED, Route.HUMAN]),
    handoffs=st.integers(0, 5),
    limit=st.integers(0, 4),
    min_confidence=st.floats(0.0, 1.0),
)
def test_the_decision_respects_limit_ping_pong_and_confidence(
    current: str,
    left: str | None,
    current_intent: str,
    intent: str,
    confidence: float,
    target: str | None,
    route: Route,
    handoffs: int,
    limit: int,
    min_confidence: float,
) -> None:
    policy = HandoffPolicy(min_confidence=min_confidence, max_handoffs=limit)
    decision = routed(intent, target, route)
    new = classified(intent, confidence)
    decided = decide_handoff(
        current_agent=current,
        current_intent=current_intent,
        agent_left=left,
        handoffs=handoffs,
        classification=new,
        decision=decision,
        policy=policy,
    )
    assert decided.reasons, "every decision says why"
    confident = intent != current_intent and intent != "oos" and confidence >= min_confidence
    if not confident:
        assert decided.action is HandoffAction.KEEP
        return
    assert decided.action is not HandoffAction.KEEP
    if decided.action is HandoffAction.HANDOFF:
        assert handoffs < limit, "a hand-off beyond the limit"
        assert decided.target is not None and decided.target not in (current, left)
        assert decision.route is not Route.HUMAN
    if decided.action is HandoffAction.REROUTE:
        assert decided.target == current
    if decided.action is HandoffAction.HUMAN:
        assert (
            decision.route is Route.HUMAN or target is None or handoffs >= limit or target == left
        )
    # The same inputs give the same answer (replay).
    again = decide_handoff(
        current_agent=current,
        current_intent=current_intent,
        agent_left=left,
        handoffs=handoffs,
        classification=new,
        decision=decision,
        policy=policy,
    )
    assert again == decided


@given(shifts=st.lists(st.sampled_from(INTENTS[:4]), min_size=1, max_size=8))
def test_a_conversation_never_exceeds_the_limit_whatever_its_topics(shifts: list[str]) -> None:
    """Played turn by turn like the lifecycle: the count never passes the limit, no hand-off
    returns to the agent just left, and once a human takes over nothing more happens."""
    agent_for = {
        "billing_inquiry": "billing-bot",
        "technical_support": "tech-bot",
        "upgrade_plan": "sales-bot",
        "order_status": "care-bot",
    }
    policy = HandoffPolicy(max_handoffs=2)
    agent, intent, left, count = "billing-bot", "billing_inquiry", None, 0
    for topic in shifts:
        decided = decide_handoff(
            current_agent=agent,
            current_intent=intent,
            agent_left=left,
            handoffs=count,
            classification=classified(topic),
            decision=routed(topic, agent_for[topic]),
            policy=policy,
        )
        if decided.action is HandoffAction.HUMAN:
            assert count == 2 or agent_for[topic] == left
            return
        if decided.action is HandoffAction.HANDOFF:
            assert decided.target != left
            left, agent, count = agent, str(decided.target), count + 1
        intent = topic
        assert count <= policy.max_handoffs


def test_billing_to_technical_to_sales_then_a_human() -> None:
    policy = HandoffPolicy(max_handoffs=2)
    first = decide_handoff(
        current_agent="billing-bot",
        current_intent="billing_inquiry",
        agent_left=None,
        handoffs=0,
        classification=classified("technical_support"),
        decision=routed("technical_support", "tech-bot"),
        policy=policy,
    )
    assert first.action is HandoffAction.HANDOFF and first.target == "tech-bot"
    assert first.reasons == [
        "topic shift billing_inquiry -> technical_support (confidence 0.99)",
        "hand-off 1 of 2: billing-bot -> tech-bot",
    ]
    back = decide_handoff(
        current_agent="tech-bot",
        current_intent="technical_support",
        agent_left="billing-bot",
        handoffs=1,
        classification=classified("billing_inquiry"),
        decision=routed("billing_inquiry", "billing-bot"),
        policy=policy,
    )
    assert back.action is HandoffAction.HUMAN
    assert "no ping-pong" in back.reasons[-1]
    third = decide_handoff(
        current_agent="sales-bot",
        current_intent="upgrade_plan",
        agent_left="tech-bot",
        handoffs=2,
        classification=classified("order_status"),
        decision=routed("order_status", "care-bot"),
        policy=policy,
    )
    assert third.action is HandoffAction.HUMAN
    assert third.reasons[-1] == "hand-off limit 2 reached: a human takes over"


def test_small_talk_and_unsure_turns_keep_the_agent() -> None:
    policy = HandoffPolicy(min_confidence=0.9)
    for new in (classified("oos", 0.99), classified("technical_support", 0.6)):
        decided = decide_handoff(
            current_agent="billing-bot",
            current_intent="billing_inquiry",
            agent_left=None,
            handoffs=0,
            classification=new,
            decision=routed(new.intent, "tech-bot"),
            policy=policy,
        )
        assert decided.action is HandoffAction.KEEP


def test_the_context_package_tells_what_the_previous_agent_did() -> None:
    at = "2026-01-01T00:00:00+00:00"
    transcript = [
        TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text="Question about my bill", at=at),
        TranscriptEntry(turn=1, sender=Sender.AI, text="Your bill has an activation fee.", at=at),
        TranscriptEntry(turn=2, sender=Sender.CUSTOMER, text="My router is broken", at=at),
    ]
    package = context_package(
        interaction_id="i-1",
        handoff_count=1,
        reason="topic shift",
        previous_agent="billing-bot:3.2",
        previous_intent="billing_inquiry",
        new_intent="technical_support",
        intents_seen=["billing_inquiry", "technical_support"],
        agent_actions=["reply"],
        agent_turns=1,
        transcript=transcript,
        since_turn=1,
    )
    assert package.previous_agent_conclusion == "Your bill has an activation fee."
    assert package.previous_agent_turns == 1
    assert [t.text for t in package.transcript] == [e.text for e in transcript]


def test_an_operator_may_keep_the_first_intent_for_the_whole_conversation() -> None:
    """``reevaluate_turns`` off: later turns go straight to the AI, no classification."""

    for reevaluate in (True, False):
        routed = decision().model_copy(
            update={"handoff": HandoffPolicy(reevaluate_turns=reevaluate)}
        )
        t = step(
            None,
            Started(
                at=at(0), workflow_id=WORKFLOW_ID, request=interaction_input(), turn_intents=True
            ),
        )
        t = step(t.state, PatternChosen(at=at(1), op=1, choice=chosen()))
        t = step(t.state, Triaged(at=at(2), op=2, result=triaged(routed)))
        call = next(c for c in t.commands if isinstance(c, CallAI))
        t = step(t.state, AIReplied(at=at(3), op=call.op, reply=ai_reply("Here it is.")))
        t = step(t.state, CustomerMessageReceived(at=at(4), text="My router is broken"))
        kinds = [type(c) for c in t.commands]
        assert CallAI in kinds
        assert (Triage in kinds) is reevaluate


def _second_turn(text: str = "My router is broken, jane.doe@example.com") -> Any:
    """An interaction with care-bot answering turn 1, then turn 2 arriving: its commands."""
    t = step(
        None,
        Started(at=at(0), workflow_id=WORKFLOW_ID, request=interaction_input(), turn_intents=True),
    )
    t = step(t.state, PatternChosen(at=at(1), op=1, choice=chosen()))
    t = step(t.state, Triaged(at=at(2), op=2, result=triaged(decision())))
    call = next(c for c in t.commands if isinstance(c, CallAI))
    t = step(t.state, AIReplied(at=at(3), op=call.op, reply=ai_reply("Here it is.")))
    return step(t.state, CustomerMessageReceived(at=at(4), text=text, ticket="u-1"))


def _shift_to(agent: AIEndpoint | None, intent: str) -> TriageResult:
    routed = decision(Route.AI if agent else Route.HUMAN, endpoint=agent)
    routed = routed.model_copy(update={"intent": intent, "confidence": 0.99})
    return triaged(routed)


def test_a_kept_topic_sends_the_answer_held_for_the_check() -> None:
    t = _second_turn("And the order number is 12?")
    check = next(c for c in t.commands if isinstance(c, Triage))
    call = next(c for c in t.commands if isinstance(c, CallAI))
    assert check.request.turn == 2 and "jane" not in check.request.text
    t = step(t.state, AIReplied(at=at(5), op=call.op, reply=ai_reply("Order 12 ships today.")))
    assert not any(isinstance(c, DeliverReply) for c in t.commands), "held for the check"
    assert t.state is not None and t.state.job is not None and t.state.job.held is not None
    t = step(t.state, Triaged(at=at(6), op=check.op, result=_shift_to(CARE, "order_status")))
    (delivered,) = [c for c in t.commands if isinstance(c, DeliverReply)]
    assert delivered.reply.text == "Order 12 ships today."
    assert t.state is not None and t.state.handoffs == []


def test_a_shift_drops_the_held_answer_and_calls_the_specialist_with_the_package() -> None:
    t = _second_turn()
    check = next(c for c in t.commands if isinstance(c, Triage))
    call = next(c for c in t.commands if isinstance(c, CallAI))
    t = step(t.state, AIReplied(at=at(5), op=call.op, reply=ai_reply("Care answer.")))
    t = step(t.state, Triaged(at=at(6), op=check.op, result=_shift_to(TECH, "technical_support")))
    assert not any(isinstance(c, DeliverReply) for c in t.commands), "the old answer is unsent"
    (again,) = [c for c in t.commands if isinstance(c, CallAI)]
    assert again.request.endpoint.name == "tech-bot"
    package = again.request.handoff
    assert package is not None and package.previous_agent == "care-bot:1"
    assert package.previous_agent_conclusion == "Here it is."
    assert package.intents_seen == ["order_status", "technical_support"]
    assert "jane.doe" not in package.model_dump_json()
    assert t.state is not None and t.state.usage.ai_calls == 2, "the dropped answer was paid"
    t = step(t.state, AIReplied(at=at(7), op=again.op, reply=ai_reply("Restart the router.")))
    (delivered,) = [c for c in t.commands if isinstance(c, DeliverReply)]
    assert delivered.reply.text == "Restart the router."


def test_a_shift_nobody_fits_goes_to_a_human_while_the_ai_is_still_answering() -> None:
    t = _second_turn("I want to complain")
    check = next(c for c in t.commands if isinstance(c, Triage))
    call = next(c for c in t.commands if isinstance(c, CallAI))
    t = step(t.state, Triaged(at=at(5), op=check.op, result=_shift_to(None, "complaint")))
    assert t.state is not None and t.state.escalation_trigger is EscalationTrigger.TOPIC_SHIFT
    late = step(t.state, AIReplied(at=at(6), op=call.op, reply=ai_reply("Too late.")))
    assert not any(isinstance(c, DeliverReply) for c in late.commands)
    assert "came late" in late.note
