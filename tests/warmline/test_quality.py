"""Semantic quality of 200-status replies: hedges, garbage, repetition, loops, token burn."""

from __future__ import annotations

import pytest

from warmline.quality import ConversationTracker, QualityConfig, is_low_quality, similarity, words

GOOD = "I've sent a reset link to the e-mail on your account; it stays valid for 30 minutes."
SIM_LOW_QUALITY = "I'm not sure. Could you rephrase?"


@pytest.mark.parametrize(
    "text",
    [
        SIM_LOW_QUALITY,
        "As an AI language model I cannot do that.",
        "",
        "ok",
        '{"id": "chatcmpl-',
        "=== ### $$$ 000 ### ===",
        "the the the the the the the the the the",
    ],
)
def test_low_quality_flags(text: str) -> None:
    assert is_low_quality(text)


@pytest.mark.parametrize(
    "text",
    [GOOD, "Your order shipped yesterday and arrives Thursday.", "Refund of $42.00 started today."],
)
def test_ordinary_answers_are_not_flagged(text: str) -> None:
    assert not is_low_quality(text)


def test_similarity_is_jaccard_of_word_sets() -> None:
    a, b = (
        frozenset(words("Please restart the router now")),
        frozenset(words("please RESTART router")),
    )
    assert similarity(a, b) == pytest.approx(3 / 5)
    assert similarity(frozenset(), frozenset()) == 1.0


def test_a_helpful_conversation_progresses() -> None:
    tracker = ConversationTracker()
    first = tracker.observe(1.0, "c1", GOOD, "reply", 40)
    second = tracker.observe(2.0, "c1", "Your order shipped yesterday.", "reply", 20)
    closing = tracker.observe(3.0, "c1", "Glad I could help!", "resolve", 10)
    assert first.new_conversation and not second.new_conversation
    assert all(
        s.progress and not s.repeated and not s.loop_detected for s in (first, second, closing)
    )


def test_near_identical_replies_are_a_loop_that_burns_tokens() -> None:
    tracker = ConversationTracker(QualityConfig(loop_turns=2))
    tracker.observe(1.0, "c1", GOOD, "reply", 40)
    again = tracker.observe(2.0, "c1", GOOD.replace("30", "thirty"), "reply", 40)
    assert again.repeated and not again.progress and not again.loop_detected
    third = tracker.observe(3.0, "c1", GOOD, "reply", 40)
    assert third.loop_detected and third.tokens == 40
    fourth = tracker.observe(4.0, "c1", GOOD, "reply", 40)
    assert not fourth.loop_detected, "a conversation is counted as looping once"
    assert not fourth.progress


def test_hedging_replies_are_low_quality_without_progress() -> None:
    tracker = ConversationTracker()
    first = tracker.observe(1.0, "c1", SIM_LOW_QUALITY, "reply", 12)
    assert first.low_quality and not first.progress and not first.repeated
    second = tracker.observe(2.0, "c1", SIM_LOW_QUALITY, "reply", 12)
    assert second.repeated and not second.loop_detected
    assert tracker.observe(3.0, "c1", SIM_LOW_QUALITY, "reply", 12).loop_detected


def test_progress_resets_the_stall_count() -> None:
    tracker = ConversationTracker(QualityConfig(loop_turns=2))
    tracker.observe(1.0, "c1", SIM_LOW_QUALITY, "reply", 5)
    tracker.observe(2.0, "c1", GOOD, "reply", 5)
    assert not tracker.observe(3.0, "c1", SIM_LOW_QUALITY, "reply", 5).loop_detected


def test_an_escalation_or_resolution_is_progress_even_when_short() -> None:
    tracker = ConversationTracker()
    tracker.observe(1.0, "c1", SIM_LOW_QUALITY, "reply", 5)
    handover = tracker.observe(2.0, "c1", "I'm not sure.", "escalate", 5)
    assert handover.progress and not handover.low_quality


def test_conversations_are_separate_and_bounded() -> None:
    tracker = ConversationTracker(QualityConfig(max_conversations=2))
    tracker.observe(1.0, "a", GOOD, "reply", 1)
    assert not tracker.observe(1.0, "b", GOOD, "reply", 1).repeated
    tracker.observe(1.0, "c", GOOD, "reply", 1)
    assert len(tracker) == 2
    assert tracker.observe(2.0, "a", GOOD, "reply", 1).new_conversation  # "a" was forgotten
    tracker.forget("a")
    tracker.forget("missing")
    assert len(tracker) == 1
    tracker.clear()
    assert len(tracker) == 0
