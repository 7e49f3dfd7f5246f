"""A later turn's AI call and intent check asked with its admission check
(``changes.TURN_AHEAD``): the answers are taken exactly as if their own activities had given
them, a part that did not run is asked on its own, and a turn that must not reach an AI (refused,
escalated by its words, weighed by a supervisor's triggers first) never has it asked."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.abuse import LimitAnswer
from models.ai import AIReply
from models.gate import TurnAnswered
from models.interaction import EscalationTrigger, Route
from models.lifecycle import (
    CallAI,
    CheckAdmission,
    CustomerMessageReceived,
    DeliverReply,
    ScreenTurn,
    Triage,
)
from models.routing import AIEndpoint
from models.supervision import SupervisionMode
from models.triage import TriageResult
from tests.warmline.lifecycle_builders import (
    TECH,
    Driver,
    admission,
    ai_reply,
    decision,
    plan,
    screen,
    started,
    triage,
)
from tests.warmline.lifecycle_strategies import ai_replies, topic_shifts, triage_results
from warmline.lifecycle import changes
from warmline.lifecycle.admission import ADMISSION_SECONDS
from warmline.lifecycle.transition import AI_SECONDS

TURN_2 = "and my invoice?"


def conversation(*legacy: str, **triaged: Any) -> Driver:
    """Turn 1 answered by care-bot; safety gates and turn intents on, as new runs have them."""
    d = Driver(
        started().model_copy(update={"safety": True, "turn_intents": True, "legacy": legacy})
    )
    d.ok(CheckAdmission)
    d.to_ai(**triaged)
    d.ok(ScreenTurn)
    d.ok(CallAI)
    return d


def kept() -> TriageResult:
    return triage(decision())


def moved(agent: AIEndpoint | None, intent: str) -> TriageResult:
    routed = decision(Route.AI if agent else Route.HUMAN, endpoint=agent)
    return triage(routed.model_copy(update={"intent": intent, "confidence": 0.99}))


def test_a_clean_turn_asks_call_and_check_with_the_admission_check() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    gate = d.pending(CheckAdmission)
    assert gate.turn is not None and gate.screen is not None and not gate.classify_ahead
    assert gate.turn.ai.turn == 2 and gate.turn.ai.endpoint.name == "care-bot"
    assert gate.turn.ai.messages[-1].content == TURN_2
    assert gate.turn.check is not None and (gate.turn.check.turn, gate.turn.check.text) == (
        2,
        TURN_2,
    )
    assert gate.timeout_seconds == ADMISSION_SECONDS + AI_SECONDS
    answered = TurnAnswered(reply=ai_reply("It was paid on the 3rd."), check=kept())
    d.ok(CheckAdmission, screen=screen(), turn=answered)
    assert d.kinds() == ["deliver_reply"], "no call or check of their own"
    (delivered,) = d.emitted(DeliverReply)[-1:]
    assert delivered.reply.text == "It was paid on the 3rd." and delivered.reply.turn == 2
    assert d.c.job is None and d.c.usage.ai_calls == 2


def _both_ways(check: TriageResult, *then: Any) -> tuple[Driver, Driver]:
    """The same turn through the separate activities (an older run) and answered ahead."""
    reply = ai_reply("Care answer.")
    before = conversation(changes.TURN_AHEAD)
    before.feed(CustomerMessageReceived(at=before.now, text=TURN_2, ticket="u-1"))
    assert before.pending(CheckAdmission).turn is None
    before.ok(CheckAdmission, screen=screen())
    assert before.kinds() == ["triage", "call_ai"]
    before.ok(CallAI, reply=reply)
    before.ok(Triage, result=check)
    ahead = conversation()
    ahead.feed(CustomerMessageReceived(at=ahead.now, text=TURN_2, ticket="u-1"))
    ahead.ok(CheckAdmission, screen=screen(), turn=TurnAnswered(reply=reply, check=check))
    for d in (before, ahead):
        for command, result in then:
            d.ok(command, **result)
    return before, ahead


def _same_state(before: Driver, ahead: Driver) -> None:
    mine, theirs = before.c.model_dump(), ahead.c.model_dump()
    assert mine.pop("legacy") == [changes.TURN_AHEAD] and theirs.pop("legacy") == []
    assert mine == theirs


@pytest.mark.parametrize(
    ("check", "then"),
    [
        (kept(), []),
        (moved(TECH, "technical_support"), [(CallAI, {"reply": ai_reply("Restart it.")})]),
        (moved(None, "complaint"), []),
    ],
    ids=["topic kept", "handed to the specialist", "handed to a human"],
)
def test_answers_taken_ahead_leave_the_state_the_separate_activities_leave(
    check: TriageResult, then: list[tuple[Any, dict[str, Any]]]
) -> None:
    before, ahead = _both_ways(check, *then)
    _same_state(before, ahead)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=ai_replies(), check=st.one_of(triage_results(), topic_shifts()))
def test_any_answers_taken_ahead_do_what_the_separate_activities_do(
    reply: AIReply, check: TriageResult
) -> None:
    before = conversation(changes.TURN_AHEAD)
    before.feed(CustomerMessageReceived(at=before.now, text=TURN_2, ticket="u-1"))
    before.ok(CheckAdmission, screen=screen())
    after_results = [*before.ok(CallAI, reply=reply), *before.ok(Triage, result=check)]
    ahead = conversation()
    ahead.feed(CustomerMessageReceived(at=ahead.now, text=TURN_2, ticket="u-1"))
    commands = ahead.ok(
        CheckAdmission, screen=screen(), turn=TurnAnswered(reply=reply, check=check)
    )
    assert commands == after_results
    _same_state(before, ahead)


def test_a_shift_found_ahead_drops_the_answer_and_calls_the_specialist() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    answered = TurnAnswered(reply=ai_reply("Care answer."), check=moved(TECH, "technical_support"))
    d.ok(CheckAdmission, screen=screen(), turn=answered)
    assert d.kinds() == ["call_ai"] and d.pending(CallAI).request.endpoint.name == "tech-bot"
    assert d.pending(CallAI).request.handoff is not None
    d.ok(CallAI, reply=ai_reply("Restart the router."))
    assert d.emitted(DeliverReply)[-1].reply.text == "Restart the router."


def test_a_shift_to_nobody_found_ahead_hands_over() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    answered = TurnAnswered(reply=ai_reply("Care answer."), check=moved(None, "complaint"))
    d.ok(CheckAdmission, screen=screen(), turn=answered)
    assert d.c.escalation_trigger is EscalationTrigger.TOPIC_SHIFT
    assert not any(r.reply.text == "Care answer." for r in d.emitted(DeliverReply))


def test_a_call_that_failed_ahead_is_made_on_its_own_with_the_check() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    d.ok(CheckAdmission, screen=screen(), turn=TurnAnswered(reply=None, check=kept()))
    assert d.kinds() == ["triage", "call_ai"]
    assert d.pending(CallAI).request == d.emitted(CheckAdmission)[-1].turn.ai  # type: ignore[union-attr]


def test_a_check_that_failed_ahead_is_asked_on_its_own_and_holds_the_answer() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    d.ok(CheckAdmission, screen=screen(), turn=TurnAnswered(reply=ai_reply("Held."), check=None))
    assert d.kinds() == ["triage"]
    assert d.c.job is not None and d.c.job.held is not None
    d.ok(Triage, result=kept())
    assert d.emitted(DeliverReply)[-1].reply.text == "Held."


def test_answers_for_another_request_are_not_taken() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    # As if the route had changed between the question and the answer.
    routed = d.c.decision
    assert routed is not None
    d.state = d.c.model_copy(update={"decision": routed.model_copy(update={"ai_endpoint": TECH})})
    d.ok(CheckAdmission, screen=screen(), turn=TurnAnswered(reply=ai_reply("Stale."), check=kept()))
    assert d.kinds() == ["triage", "call_ai"] and d.pending(CallAI).request.endpoint == TECH


def test_a_refused_turn_never_takes_an_answer() -> None:
    d = conversation()
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    answered = TurnAnswered(reply=ai_reply("Should not be seen."), check=kept())
    d.ok(CheckAdmission, decision=admission(LimitAnswer.THROTTLED), turn=answered)
    texts = [r.reply.text for r in d.emitted(DeliverReply)]
    assert "Should not be seen." not in texts and "try again" in texts[-1]


@pytest.mark.parametrize(
    ("why", "text", "triaged"),
    [
        ("the customer asks for a human", "I want to talk to a human agent", {}),
        (
            "a semi-autonomous plan weighs its triggers first",
            TURN_2,
            {"supervision": plan(SupervisionMode.SEMI_AUTONOMOUS)},
        ),
    ],
)
def test_no_call_is_asked_ahead_when_the_turn_may_not_reach_the_ai_as_it_is(
    why: str, text: str, triaged: dict[str, Any]
) -> None:
    d = conversation(**triaged)
    d.feed(CustomerMessageReceived(at=d.now, text=text, ticket="u-1"))
    gate = d.pending(CheckAdmission)
    assert gate.turn is None and gate.timeout_seconds == ADMISSION_SECONDS, why


def test_older_runs_ask_as_before() -> None:
    d = conversation(changes.TURN_AHEAD)
    d.feed(CustomerMessageReceived(at=d.now, text=TURN_2, ticket="u-1"))
    gate = d.pending(CheckAdmission)
    assert gate.turn is None and gate.classify_ahead
