"""AI-to-AI hand-off: the policy in the routing config, the decision, its record, and the
context package the next agent receives with every call.

When a customer's topic shifts mid-conversation the interaction may move to the specialist AI
agent for the new intent. The next agent must not start blind: the package says who had the
conversation, what it did and concluded, which intents were seen and why the hand-off happened,
with the redacted transcript. It travels with the AI call (``models.ai.AIRequest.handoff``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

HANDOFF_PREFIX = "Warmline hand-off context (JSON): "
"""How the package reaches an OpenAI-compatible agent: a system message after the prompt."""
HANDOFF_TRANSCRIPT_KEPT = 20
"""Transcript entries the package carries: the recent context, bounded whatever the length."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HandoffPolicy(_Doc):
    """When a new intent counts as a topic shift, and how many hand-offs one interaction gets."""

    reevaluate_turns: bool = Field(
        default=True,
        description="Classify every later customer turn (one forward pass per turn, beside the "
        "AI call); False: the first message's intent holds for the whole conversation.",
    )
    min_confidence: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="A later turn's intent re-routes only at or above this confidence; below "
        "it (small talk, 'ok', 'thanks') the conversation stays where it is.",
    )
    max_handoffs: int = Field(
        default=2,
        ge=0,
        le=10,
        description="AI-to-AI hand-offs per interaction; a topic shift after the last one goes "
        "to a human.",
    )


class HandoffAction(StrEnum):
    KEEP = "keep"
    """Same topic, or not a confident change: nothing changes."""
    REROUTE = "reroute"
    """A new topic the current agent also covers: new intent, route and supervision mode."""
    HANDOFF = "handoff"
    """A new topic for another AI agent: it takes over with the context package."""
    HUMAN = "human"
    """No AI fits the new topic, the hand-off limit is reached, or it would ping-pong."""


class HandoffDecision(_Doc):
    action: HandoffAction
    target: str | None = Field(default=None, description="Agent name taking over (hand-off).")
    reasons: list[str] = Field(default_factory=list)


class HandoffRecord(_Doc):
    """One hand-off (or the topic shift that went to a human), kept in state and audited."""

    at: str
    count: int = Field(description="Hand-offs so far, this one included (human: unchanged).")
    action: HandoffAction
    from_agent: str = Field(description="name:version of the agent that had the conversation.")
    to_agent: str | None = Field(default=None, description="name:version taking over; None: human.")
    from_intent: str
    to_intent: str
    confidence: float
    turn: int
    reason: str


class PackagedTurn(_Doc):
    turn: int
    sender: str
    text: str = Field(description="Redacted.")


class HandoffPackage(_Doc):
    """What the next AI agent is told about the conversation it takes over (all redacted)."""

    interaction_id: str
    handoff_count: int = Field(ge=1)
    reason: str
    previous_agent: str = Field(description="name:version of the agent handing over.")
    previous_intent: str
    new_intent: str
    intents_seen: list[str] = Field(description="Every intent of the conversation, in order.")
    previous_agent_turns: int = Field(description="Turns the previous agent answered.")
    previous_agent_actions: list[str] = Field(
        description="What the previous agent did: its answers' actions, in order."
    )
    previous_agent_conclusion: str = Field(
        description="The previous agent's last answer to the customer (redacted)."
    )
    transcript: list[PackagedTurn] = Field(
        description=f"The latest {HANDOFF_TRANSCRIPT_KEPT} transcript entries (redacted)."
    )
