"""The demo traffic generator: deterministic, valid against the contract, varied enough."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from models.interaction import INTERACTION_ID_PATTERN, Channel
from simulators import conversations
from simulators.bot_replies import is_closing
from simulators.traffic import ScriptedInteraction, generate_traffic
from warmline.intents import DEFAULT_INTENTS, OUT_OF_SCOPE


@pytest.fixture(scope="module")
def traffic() -> list[ScriptedInteraction]:
    return generate_traffic(600, seed=11)


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def test_same_seed_same_traffic() -> None:
    first = [s.model_dump() for s in generate_traffic(150, seed=3)]
    assert first == [s.model_dump() for s in generate_traffic(150, seed=3)]
    assert first != [s.model_dump() for s in generate_traffic(150, seed=4)]


def test_every_input_validates(traffic: list[ScriptedInteraction]) -> None:
    inputs = [s.interaction_input() for s in traffic]
    ids = [i.interaction_id for i in inputs]
    assert len(set(ids)) == len(ids) and ids[0] == "demo-11-00000"
    assert all(re.fullmatch(INTERACTION_ID_PATTERN, i) for i in ids)
    for item in inputs:
        assert 0 <= int(item.metadata["priority"]) <= 9
        assert (item.upstream_intent is not None) == (item.entry_point == "ivr")


def test_mix_covers_channels_segments_languages(traffic: list[ScriptedInteraction]) -> None:
    inputs = [s.interaction_input() for s in traffic]
    channels = Counter(i.channel for i in inputs)
    assert set(channels) == set(Channel)
    assert channels[Channel.CHAT] > channels[Channel.VOICE] > channels[Channel.EMAIL]
    assert {i.customer.segment for i in inputs} == {"standard", "premium", "vulnerable"}
    assert {i.customer.language for i in inputs} == {"en", "es"}
    assert {i.entry_point for i in inputs} == {"default", "web_chat", "ivr"}
    assert {s.ends_with for s in traffic} == {"thanks", "request_human", "angry", "silence"}


def test_intents_and_phrasings(traffic: list[ScriptedInteraction]) -> None:
    assert all(len(conversations.OPENERS[i]) >= 3 for i in DEFAULT_INTENTS)
    intents = Counter(s.intent for s in traffic)
    assert len(set(intents) & set(DEFAULT_INTENTS)) >= 15
    assert intents[OUT_OF_SCOPE] > 0
    assert len({s.input["first_message"] for s in traffic}) > 0.5 * len(traffic)


def test_some_messages_carry_test_pii(traffic: list[ScriptedInteraction]) -> None:
    pii = re.compile(r"@example\.com|555[- ]?01\d\d|(?:\d{4} ){3}\d{4}")
    share = sum(bool(pii.search(s.input["first_message"])) for s in traffic) / len(traffic)
    assert 0.05 < share < 0.16
    for snippet in conversations.PII_SNIPPETS:
        for card in re.findall(r"(?:\d{4} ){3}\d{4}", snippet):
            assert _luhn_ok(card.replace(" ", ""))


def test_scripts_end_the_way_they_say(traffic: list[ScriptedInteraction]) -> None:
    for script in traffic:
        assert len(script.follow_ups) <= 4
        last = script.follow_ups[-1] if script.follow_ups else None
        if script.ends_with == "thanks":
            assert last in conversations.CLOSERS and is_closing(last)
        elif script.ends_with == "request_human":
            assert last in conversations.HUMAN_REQUESTS
        elif script.ends_with == "angry":
            assert last in conversations.ANGRY and script.csat in (1, 2)
        else:
            assert script.csat is None


def test_a_run_tag_renames_the_interactions_and_keeps_the_conversations() -> None:
    # The demo against a server that keeps earlier runs: an id names one interaction for ever.
    plain = generate_traffic(20, seed=5)
    tagged = generate_traffic(20, seed=5, run="20261206T235900")
    assert {s.input["interaction_id"] for s in plain}.isdisjoint(
        s.input["interaction_id"] for s in tagged
    )
    strip = [{**s.model_dump(), "input": {**s.input, "interaction_id": ""}} for s in plain]
    assert strip == [{**s.model_dump(), "input": {**s.input, "interaction_id": ""}} for s in tagged]
