from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from models.ai import AIAction
from models.interaction import EscalationTrigger
from models.routing import EscalationPolicy
from warmline.escalation import EscalationCheck, check_escalation, detect_explicit_human_request
from warmline.sentiment import sentiment_score


@pytest.mark.parametrize(
    "text",
    [
        "can I talk to a human",
        "Can I speak to a real person please?",
        "agent please",
        "Agent.",
        "AGENT!!!",
        "representative",
        "Representative please",
        "operator",
        "human",
        "I want a human",
        "I need to speak with someone",
        "put me through to a supervisor",
        "transfer me to a customer service representative",
        "can I have a human please",
        "let me chat with a live agent",
        "is there a real person I can talk to?",
        "why won't you let me talk to a human?",
        "can I not just speak to someone?",
        "get me your manager",
    ],
)
def test_explicit_requests_are_detected(text: str) -> None:
    assert detect_explicit_human_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "my travel agent booked the wrong flight",
        "I need to contact my travel agent",
        "my mobile operator charged me twice",
        "The representative I spoke to yesterday was rude",
        "I talked to someone last week about this",
        "I need someone to fix my router",
        "I have an agent code from the letter",
        "I want a refund",
        "I don't want to talk to a human, just fix it",
        "No need to transfer me to an agent, thanks",
        "I do not need a representative",
        "where is my order?",
    ],
)
def test_non_requests_are_not_detected(text: str) -> None:
    assert not detect_explicit_human_request(text)


def check(**overrides: Any) -> EscalationCheck | None:
    arguments: dict[str, Any] = {
        "customer_text": "ok, what is the next step?",
        "ai_turns": 1,
        "resolved": False,
        "ai_action": AIAction.REPLY,
        "ai_assessment": None,
        "out_of_scope": False,
        "policy": EscalationPolicy(sentiment_min=-0.5, max_turns=5),
    }
    arguments.update(overrides)
    return check_escalation(**arguments)


def trigger_of(result: EscalationCheck | None) -> EscalationTrigger | None:
    return None if result is None else result.trigger


def test_calm_turn_does_not_escalate() -> None:
    assert check() is None
    assert check(ai_action=None) is None


def test_explicit_request() -> None:
    result = check(customer_text="let me talk to a human")
    assert result is not None
    assert result.trigger == EscalationTrigger.EXPLICIT_REQUEST
    assert result.sentiment == sentiment_score("let me talk to a human")


def test_out_of_scope() -> None:
    result = check(out_of_scope=True)
    assert trigger_of(result) == EscalationTrigger.OUT_OF_SCOPE
    assert result is not None and "scope" in result.detail


def test_sentiment_below_threshold() -> None:
    text = "this is the worst, absolutely useless"
    assert sentiment_score(text) < -0.5
    result = check(customer_text=text)
    assert trigger_of(result) == EscalationTrigger.SENTIMENT
    assert result is not None and result.sentiment == sentiment_score(text)


def test_sentiment_exactly_at_threshold_does_not_escalate() -> None:
    text = "this is terrible"
    score = sentiment_score(text)
    assert check(customer_text=text, policy=EscalationPolicy(sentiment_min=score)) is None
    below = EscalationPolicy(sentiment_min=score + 1e-9)
    assert trigger_of(check(customer_text=text, policy=below)) == EscalationTrigger.SENTIMENT


def test_ai_requested_carries_redacted_assessment() -> None:
    result = check(
        ai_action=AIAction.ESCALATE,
        ai_assessment="disputed charge, customer gave card 4111 1111 1111 1111",
    )
    assert trigger_of(result) == EscalationTrigger.AI_REQUESTED
    assert result is not None
    assert "[CARD]" in result.detail and "4111" not in result.detail


def test_ai_resolve_action_is_not_an_escalation() -> None:
    assert check(ai_action=AIAction.RESOLVE) is None


def test_max_turns_boundary() -> None:
    assert check(ai_turns=4) is None
    assert trigger_of(check(ai_turns=5)) == EscalationTrigger.MAX_TURNS
    assert trigger_of(check(ai_turns=9)) == EscalationTrigger.MAX_TURNS


def test_max_turns_ignored_once_resolved() -> None:
    assert check(ai_turns=5, resolved=True) is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {
                "customer_text": "this is the worst, get me a human!!!",
                "out_of_scope": True,
                "ai_action": AIAction.ESCALATE,
                "ai_turns": 10,
            },
            EscalationTrigger.EXPLICIT_REQUEST,
        ),
        (
            {
                "customer_text": "this is the worst, absolutely useless",
                "out_of_scope": True,
                "ai_action": AIAction.ESCALATE,
                "ai_turns": 10,
            },
            EscalationTrigger.OUT_OF_SCOPE,
        ),
        (
            {
                "customer_text": "this is the worst, absolutely useless",
                "ai_action": AIAction.ESCALATE,
                "ai_turns": 10,
            },
            EscalationTrigger.SENTIMENT,
        ),
        ({"ai_action": AIAction.ESCALATE, "ai_turns": 10}, EscalationTrigger.AI_REQUESTED),
        ({"ai_turns": 10}, EscalationTrigger.MAX_TURNS),
    ],
)
def test_precedence(overrides: dict[str, Any], expected: EscalationTrigger) -> None:
    assert trigger_of(check(**overrides)) == expected


def test_resolved_does_not_silence_an_explicit_request() -> None:
    result = check(customer_text="operator", resolved=True)
    assert trigger_of(result) == EscalationTrigger.EXPLICIT_REQUEST


def test_check_is_immutable_and_strict() -> None:
    result = EscalationCheck(trigger=EscalationTrigger.SENTIMENT, detail="x", sentiment=-0.9)
    with pytest.raises(ValidationError):
        result.detail = "changed"  # type: ignore[misc]  # frozen: the point of the test
    with pytest.raises(ValidationError):
        EscalationCheck(trigger=EscalationTrigger.SENTIMENT, detail="x", sentiment=-1.5)
