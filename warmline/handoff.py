"""AI-to-AI hand-off: what a later turn's intent means for who holds the conversation.

Every customer turn is classified again and routed under its intent (the routing config's
specialists, thresholds and intent map decide as for a first message). This module compares that
routing with where the conversation is and decides, with reasons:

- the same intent, or a change below the policy's confidence (small talk, "ok", "thanks"):
  **keep** everything as it is;
- a confident new intent routed to the agent already talking: **reroute** (new intent, route and
  supervision mode, same agent);
- a confident new intent routed to another AI agent: **hand off** to it, unless the limit of
  hand-offs per interaction is reached or it is the agent the conversation just left (no
  ping-pong): then a **human** takes over, as when no AI fits the new intent at all.

Pure: no Temporal, no I/O, no clock; the lifecycle machine calls it and records the result.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.handoff import (
    HANDOFF_TRANSCRIPT_KEPT,
    HandoffAction,
    HandoffDecision,
    HandoffPackage,
    HandoffPolicy,
    PackagedTurn,
)
from models.interaction import Route, Sender, TranscriptEntry
from models.routing import Classification, RoutingDecision
from warmline.intents import OUT_OF_SCOPE


def _fmt(value: float) -> str:
    return f"{round(value, 4):g}"


def topic_changed(current_intent: str | None, new: Classification, policy: HandoffPolicy) -> str:
    """Why ``new`` is not a topic shift, or ``""`` when it is one."""
    if new.intent == current_intent:
        return f"same intent {new.intent}"
    if new.out_of_scope or new.intent == OUT_OF_SCOPE:
        return f"intent {new.intent} is out of scope: not a topic shift"
    if new.confidence < policy.min_confidence:
        return (
            f"intent {new.intent} confidence {_fmt(new.confidence)} < "
            f"{_fmt(policy.min_confidence)}: not a confident topic shift"
        )
    return ""


def decide_handoff(
    *,
    current_agent: str | None,
    current_intent: str | None,
    agent_left: str | None,
    handoffs: int,
    classification: Classification,
    decision: RoutingDecision,
    policy: HandoffPolicy,
) -> HandoffDecision:
    """Where the conversation goes after a turn classified as ``classification`` and routed
    as ``decision``. ``current_agent`` and ``agent_left`` are agent names (not versions): a new
    version of the same agent is the same agent."""
    not_shift = topic_changed(current_intent, classification, policy)
    if not_shift:
        return HandoffDecision(action=HandoffAction.KEEP, reasons=[not_shift])
    shift = (
        f"topic shift {current_intent or 'unknown'} -> {classification.intent} "
        f"(confidence {_fmt(classification.confidence)})"
    )
    target = decision.ai_endpoint.name if decision.ai_endpoint is not None else None
    if decision.route is Route.HUMAN or target is None:
        why = decision.reasons[-1] if decision.reasons else "routed to human"
        return HandoffDecision(
            action=HandoffAction.HUMAN, reasons=[shift, f"no AI agent fits: {why}"]
        )
    if target == current_agent:
        return HandoffDecision(
            action=HandoffAction.REROUTE,
            target=target,
            reasons=[shift, f"{target} covers intent {classification.intent} too: no hand-off"],
        )
    if handoffs >= policy.max_handoffs:
        return HandoffDecision(
            action=HandoffAction.HUMAN,
            reasons=[shift, f"hand-off limit {policy.max_handoffs} reached: a human takes over"],
        )
    if target == agent_left:
        return HandoffDecision(
            action=HandoffAction.HUMAN,
            reasons=[shift, f"{target} is the agent just left: no ping-pong, a human takes over"],
        )
    return HandoffDecision(
        action=HandoffAction.HANDOFF,
        target=target,
        reasons=[
            shift,
            f"hand-off {handoffs + 1} of {policy.max_handoffs}: "
            f"{current_agent or 'unknown'} -> {target}",
        ],
    )


def context_package(
    *,
    interaction_id: str,
    handoff_count: int,
    reason: str,
    previous_agent: str,
    previous_intent: str,
    new_intent: str,
    intents_seen: Sequence[str],
    agent_actions: Sequence[str],
    agent_turns: int,
    transcript: Sequence[TranscriptEntry],
    since_turn: int,
) -> HandoffPackage:
    """The next agent's briefing; ``transcript`` is already redacted (the state holds no other).

    What the previous agent concluded is its last answer to the customer (from ``since_turn``,
    when it took the conversation)."""
    said = [e for e in transcript if e.sender is Sender.AI and e.turn >= since_turn]
    return HandoffPackage(
        interaction_id=interaction_id,
        handoff_count=handoff_count,
        reason=reason,
        previous_agent=previous_agent,
        previous_intent=previous_intent,
        new_intent=new_intent,
        intents_seen=list(intents_seen),
        previous_agent_turns=agent_turns,
        previous_agent_actions=list(agent_actions),
        previous_agent_conclusion=said[-1].text if said else "",
        transcript=[
            PackagedTurn(turn=e.turn, sender=e.sender.value, text=e.text)
            for e in transcript[-HANDOFF_TRANSCRIPT_KEPT:]
        ],
    )
