"""What an AI call carries of the conversation: the instructions and the latest messages the
route's window allows (``ai_context_messages``), never a withheld or system message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.interaction import Sender, TranscriptEntry
from models.routing import AI_CONTEXT_MESSAGES, RoutingConfig
from warmline.lifecycle import wording
from warmline.lifecycle.ai_turn import chat_messages

from .lifecycle_builders import Driver, at, decision

ROLE = {Sender.CUSTOMER: "user", Sender.AI: "assistant"}

entries = st.lists(
    st.tuples(st.sampled_from(list(Sender)), st.integers(1, 40), st.text(max_size=12)),
    max_size=120,
)


@given(entries, st.integers(2, 60), st.lists(st.integers(1, 40), max_size=5))
def test_the_latest_messages_within_the_window_oldest_first(
    raw: list[tuple[Sender, int, str]], window: int, withheld: list[int]
) -> None:
    transcript = [
        TranscriptEntry(turn=turn, sender=sender, text=text, at=at(i))
        for i, (sender, turn, text) in enumerate(raw)
    ]
    d = Driver().to_ai()
    routed = d.c.decision
    assert routed is not None
    c = d.c.model_copy(
        update={
            "transcript": transcript,
            "withheld_turns": withheld,
            "decision": routed.model_copy(update={"ai_context_messages": window}),
        }
    )
    shown = [
        (ROLE[e.sender], e.text)
        for e in transcript
        if e.sender in ROLE and not (e.sender is Sender.CUSTOMER and e.turn in withheld)
    ]
    messages = chat_messages(c)
    assert (messages[0].role, messages[0].content) == ("system", wording.SYSTEM_PROMPT)
    assert [(m.role, m.content) for m in messages[1:]] == shown[-window:]


def test_a_long_conversation_sends_the_window_not_the_whole_transcript() -> None:
    d = Driver().to_ai(decision())
    assert d.c.decision is not None and d.c.decision.ai_context_messages == AI_CONTEXT_MESSAGES
    long = [
        TranscriptEntry(
            turn=1 + i // 2, sender=(Sender.CUSTOMER, Sender.AI)[i % 2], text=f"m{i}", at=at(i)
        )
        for i in range(500)
    ]
    messages = chat_messages(d.c.model_copy(update={"transcript": long}))
    assert len(messages) == 1 + AI_CONTEXT_MESSAGES
    assert messages[-1].content == "m499" and messages[1].content == f"m{500 - AI_CONTEXT_MESSAGES}"


def test_the_window_is_a_bounded_routing_setting() -> None:
    assert RoutingConfig().ai_context_messages == AI_CONTEXT_MESSAGES
    for bad in (1, 1001):
        with pytest.raises(ValueError, match="ai_context_messages"):
            RoutingConfig(ai_context_messages=bad)
