"""Spillover policy: which interaction is deflected, called back, buffered or transferred."""

from __future__ import annotations

import pytest

from models.interaction import Channel, EscalationTrigger
from models.routing import HumanAvailability, SpilloverPolicy
from warmline.spillover import SpilloverAction, spillover_action

POLICY = SpilloverPolicy(
    deflect_max_priority=2,
    deflect_when_wait_above_seconds=300,
    voice_callback_when_wait_above_seconds=180,
    max_queued_per_agent=2,
)


def capacity(
    agents: int = 2, free: int = 0, queued: int = 0, wait: float = 600
) -> HumanAvailability:
    return HumanAvailability(
        queue="general",
        agents=agents,
        available_agents=free,
        queued=queued,
        estimated_wait_seconds=wait,
    )


def decide(**overrides: object) -> SpilloverAction:
    args: dict[str, object] = {
        "channel": Channel.CHAT,
        "priority": 5,
        "trigger": EscalationTrigger.AI_UNAVAILABLE,
        "capacity": capacity(),
        "has_self_service": True,
        "policy": POLICY,
    }
    args.update(overrides)
    return spillover_action(**args).action  # type: ignore[arg-type]


def test_low_priority_ai_spillover_is_deflected_when_the_wait_is_long() -> None:
    assert decide(priority=2) is SpilloverAction.DEFLECT
    assert decide(priority=3) is SpilloverAction.TRANSFER


@pytest.mark.parametrize(
    "trigger", [EscalationTrigger.EXPLICIT_REQUEST, EscalationTrigger.SENTIMENT]
)
def test_customers_who_need_a_person_are_never_deflected(trigger: EscalationTrigger) -> None:
    assert decide(priority=0, trigger=trigger) is SpilloverAction.TRANSFER


def test_no_deflection_without_a_self_service_answer_or_with_a_short_wait() -> None:
    assert decide(priority=0, has_self_service=False) is SpilloverAction.TRANSFER
    assert decide(priority=0, capacity=capacity(wait=299)) is SpilloverAction.TRANSFER


def test_voice_gets_a_callback_instead_of_a_long_hold() -> None:
    assert decide(channel=Channel.VOICE) is SpilloverAction.CALLBACK
    assert decide(channel=Channel.VOICE, capacity=capacity(wait=180)) is SpilloverAction.TRANSFER


def test_metering_buffers_once_the_queue_is_full_and_admits_when_it_drains() -> None:
    assert decide(capacity=capacity(queued=3, wait=100)) is SpilloverAction.TRANSFER
    assert decide(capacity=capacity(queued=4, wait=100)) is SpilloverAction.BUFFER
    assert decide(capacity=capacity(queued=4, free=1, wait=100)) is SpilloverAction.TRANSFER


def test_a_buffered_interaction_is_rechecked_not_deflected() -> None:
    assert decide(priority=0, buffered=True, capacity=capacity(queued=9)) is SpilloverAction.BUFFER


def test_unknown_capacity_transfers() -> None:
    assert decide(capacity=None) is SpilloverAction.TRANSFER
