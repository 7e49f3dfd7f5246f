"""Deterministic demo traffic: scripted customers with a channel, a segment and a story.

Each ``ScriptedInteraction`` carries a valid ``InteractionInput`` (as JSON) plus what the
customer will say next and how the conversation ends, so the demo driver only replays it.
The same ``seed`` always gives the same traffic, which keeps demo numbers comparable between
runs and lets tests pin exact behaviour.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from models.interaction import InteractionInput
from simulators import conversations as text
from warmline.intents import DEFAULT_INTENTS, OUT_OF_SCOPE

T = TypeVar("T")
Ending = Literal["thanks", "request_human", "angry", "silence"]

CHANNEL_MIX = {"chat": 50, "voice": 30, "email": 15, "social": 5}
SEGMENT_MIX = {"standard": 75, "premium": 20, "vulnerable": 5}
ENDING_MIX: dict[Ending, int] = {"thanks": 55, "request_human": 15, "angry": 10, "silence": 20}
CSAT_BY_ENDING: dict[Ending, dict[int, int]] = {
    "thanks": {5: 60, 4: 30, 3: 10},
    "request_human": {4: 30, 3: 45, 2: 25},
    "angry": {2: 40, 1: 60},
}
# The high-volume intents of a typical contact center come up more often than the rest.
FREQUENT_INTENTS = {"order_status": 4, "billing_inquiry": 3, "password_reset": 3}
OUT_OF_SCOPE_SHARE = 0.06
PII_SHARE = 0.10
SPANISH_SHARE = 0.12
IVR_MISLABEL_SHARE = 0.15
MAX_CLARIFICATIONS = 3


class ScriptedInteraction(BaseModel):
    """One scripted customer: the opening input and the rest of their side of the dialogue."""

    model_config = ConfigDict(extra="forbid")
    input: dict[str, Any] = Field(description="InteractionInput as JSON.")
    intent: str = Field(description="The intent the script was written for (oos if none).")
    follow_ups: list[str] = Field(default_factory=list, description="Later customer turns.")
    ends_with: Ending
    csat: int | None = Field(default=None, ge=1, le=5)

    def interaction_input(self) -> InteractionInput:
        return InteractionInput.model_validate(self.input)


def generate_traffic(n: int, seed: int, run: str = "") -> list[ScriptedInteraction]:
    """``n`` scripted interactions; identical for identical ``(n, seed)`` but for their ids.

    An interaction id names one interaction for ever (the public contract's reuse policy), so
    a run against a server that keeps earlier runs' histories names its interactions with
    ``run`` (the demo: its start time)."""
    rng = random.Random(seed)
    prefix = f"demo-{run}-{seed}" if run else f"demo-{seed}"
    return [_script(rng, f"{prefix}-{i:05d}") for i in range(n)]


def _pick(rng: random.Random, mix: dict[T, int]) -> T:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _script(rng: random.Random, interaction_id: str) -> ScriptedInteraction:
    channel = _pick(rng, CHANNEL_MIX)
    segment = _pick(rng, SEGMENT_MIX)
    language = "es" if rng.random() < SPANISH_SHARE else "en"
    intent = OUT_OF_SCOPE if rng.random() < OUT_OF_SCOPE_SHARE else _intent(rng)
    slots = _slots(rng)
    first = _opener(rng, intent, language).format(**slots)
    if rng.random() < PII_SHARE:
        stop = " " if first.endswith(("?", "!", ".")) else ". "
        first = f"{first}{stop}{rng.choice(text.PII_SNIPPETS).format(**slots)}"
    if channel == "email":
        first = _as_email(first, slots["name"])
    entry_point = _entry_point(rng, channel)
    priority = min(9, rng.randint(2, 6) + {"premium": 2, "vulnerable": 3}.get(segment, 0))
    payload: dict[str, Any] = {
        "interaction_id": interaction_id,
        "channel": channel,
        "customer": {
            "id": f"cust-{rng.randint(1, 99_999):05d}",
            "segment": segment,
            "language": language,
            "region": _pick(rng, {"us": 70, "ca": 10, "eu": 15, "uk": 5}),
        },
        "first_message": first,
        "metadata": {"entry_point": entry_point, "priority": priority},
    }
    if entry_point == "ivr":
        payload["upstream_intent"] = _ivr_label(rng, intent)
    ending = _pick(rng, ENDING_MIX)
    return ScriptedInteraction(
        input=payload,
        intent=intent,
        follow_ups=_follow_ups(rng, ending, slots),
        ends_with=ending,
        csat=_pick(rng, CSAT_BY_ENDING[ending]) if ending in CSAT_BY_ENDING else None,
    )


def _as_email(body: str, name: str) -> str:
    stop = "" if body.endswith(("?", "!", ".")) else "."
    return f"Hello,\n\n{body[0].upper()}{body[1:]}{stop}\n\nKind regards,\n{name}"


def _intent(rng: random.Random) -> str:
    weights = [FREQUENT_INTENTS.get(intent, 1) for intent in DEFAULT_INTENTS]
    return rng.choices(DEFAULT_INTENTS, weights=weights)[0]


def _opener(rng: random.Random, intent: str, language: str) -> str:
    if intent == OUT_OF_SCOPE:
        return rng.choice(text.OUT_OF_SCOPE)
    if language == "es" and intent in text.SPANISH_OPENERS:
        return rng.choice(text.SPANISH_OPENERS[intent])
    return rng.choice(text.OPENERS[intent])


def _entry_point(rng: random.Random, channel: str) -> str:
    """IVR only fronts voice and the web widget only chat; everything else enters by default."""
    if channel == "voice":
        return _pick(rng, {"ivr": 70, "default": 30})
    if channel == "chat":
        return _pick(rng, {"web_chat": 60, "default": 40})
    return "default"


def _ivr_label(rng: random.Random, intent: str) -> dict[str, Any]:
    """An upstream classifier is usually right, sometimes confidently wrong."""
    label = rng.choice(DEFAULT_INTENTS) if rng.random() < IVR_MISLABEL_SHARE else intent
    return {"intent": label, "confidence": round(rng.uniform(0.55, 0.99), 2)}


def _follow_ups(rng: random.Random, ending: Ending, slots: dict[str, str]) -> list[str]:
    k = rng.randint(0, MAX_CLARIFICATIONS)
    turns = [turn.format(**slots) for turn in rng.sample(text.CLARIFICATIONS, k)]
    last: dict[Ending, Sequence[str]] = {
        "thanks": text.CLOSERS,
        "request_human": text.HUMAN_REQUESTS,
        "angry": text.ANGRY,
    }
    if ending in last:
        turns.append(rng.choice(last[ending]))
    return turns


def _slots(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(text.FIRST_NAMES), rng.choice(text.LAST_NAMES)
    return {
        "order": rng.choice(["#", "A", ""]) + str(rng.randint(100_000, 9_999_999)),
        "amount": f"${rng.randint(4, 480)}.{rng.randint(0, 99):02d}",
        "date": f"{rng.choice(text.MONTHS)} {rng.randint(1, 28)}",
        "product": rng.choice(text.PRODUCTS),
        "plan": rng.choice(text.PLANS),
        "store": rng.choice(text.STORES),
        "first": first,
        "last": last,
        "name": f"{first.title()} {last.title()}",
        "nn": f"{rng.randint(0, 99):02d}",
    }
