"""What the orchestrator says to customers while they wait, and how it reads a callback yes."""

from __future__ import annotations

import pytest

from models.interaction_state import HumanLeg
from warmline.lifecycle.wording import accepts_callback, handover_notice, hold_notice


def test_handover_notice_with_a_queue_position_gives_place_and_wait() -> None:
    text = handover_notice(HumanLeg(queue_position=3, estimated_wait_seconds=300))
    assert text.startswith("I'm connecting you with a colleague")
    assert "they will see our conversation so far." in text
    assert text.endswith(" You are number 3 in the queue; the expected wait is about 5 minutes.")


def test_handover_notice_without_a_queue_position_promises_no_wait() -> None:
    text = handover_notice(HumanLeg(queue_position=0, estimated_wait_seconds=300))
    assert text == (
        "I'm connecting you with a colleague who can help, and they will see our conversation "
        "so far."
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "1 minute"), (20, "1 minute"), (60, "1 minute"), (120, "2 minutes"), (600, "10 minutes")],
)
def test_waits_are_said_in_whole_minutes_never_less_than_one(seconds: float, said: str) -> None:
    text = handover_notice(HumanLeg(queue_position=1, estimated_wait_seconds=seconds))
    assert text.endswith(f"the expected wait is about {said}.")


def test_hold_notice_without_an_estimate() -> None:
    assert hold_notice(HumanLeg()) == "Thanks for waiting; an agent will be with you shortly."


def test_hold_notice_with_an_estimate() -> None:
    assert hold_notice(HumanLeg(estimated_wait_seconds=240)) == (
        "Thanks for waiting; the expected wait is about 4 minutes."
    )


def test_hold_notice_offers_a_callback_once_offered() -> None:
    text = hold_notice(HumanLeg(estimated_wait_seconds=240, callback_offered=True))
    assert text.startswith("Thanks for waiting; the expected wait is about 4 minutes.")
    assert text.endswith(" If you prefer, reply 'call me back' and we will call you instead.")
    assert "call me back" not in hold_notice(HumanLeg(estimated_wait_seconds=240))


@pytest.mark.parametrize(
    "text",
    [
        "call me back",
        "Call me back please",
        "callback",
        "A call back would be great",
        "yes please",
        "Yes, please!",
        "YES PLEASE",
        "ring me back",
        "Please ring me back when someone is free",
        "ok, call me back",
    ],
)
def test_callback_acceptances(text: str) -> None:
    assert accepts_callback(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no thanks, I'll wait",
        "yes",
        "please hurry",
        "I'll hold",
        "recall my last order",
        "callbacks are useless",
        "is anyone there?",
        "ok, call me",
        "call me Bob",
        "please call me",
    ],
)
def test_other_replies_are_not_a_callback(text: str) -> None:
    assert not accepts_callback(text)


@pytest.mark.parametrize(
    "text",
    [
        "no, don't call me back",
        "No call back, thanks",
        "please do not call me",
        "please do not call me back",
        "dont call me back",
        "Don't ring me back",
        "not a callback, I'll stay on the line",
        "never call me back",
        "I'd rather wait than get a call back",
        "yes please, I'll keep waiting",
        "I'll keep waiting, no callback",
    ],
)
def test_a_declined_offer_is_never_a_callback(text: str) -> None:
    assert not accepts_callback(text)
