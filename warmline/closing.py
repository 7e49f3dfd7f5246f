"""How a finished interaction is classified for WFM: pool, outcome and handle-time segments.

Pure: it reads the workflow's state model and the close time, nothing else, so the numbers
WFM plans by are tested without Temporal.
"""

from __future__ import annotations

from datetime import datetime

from models.facts import InteractionFacts
from models.interaction import Outcome, Pool, Route
from models.interaction_state import InteractionCarry


def _seconds(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())


def final_pool(carry: InteractionCarry) -> Pool:
    """AI-contained only if no human ever took part or watched; human-only if AI never did."""
    decision = carry.decision
    first_route = Route(str(carry.decisions[0]["route"])) if carry.decisions else None
    if first_route is Route.HUMAN or (decision is None and carry.ai_turns == 0):
        return Pool.HUMAN_ONLY
    if carry.ai_turns == 0 and carry.escalation_trigger is not None:
        return Pool.HUMAN_ONLY
    if carry.escalation_trigger is not None or first_route is Route.AI_MONITORED:
        return Pool.AI_ASSISTED
    return Pool.AI_CONTAINED


def default_outcome(carry: InteractionCarry) -> Outcome:
    """Outcome when the close was not explicit (silence, customer hang-up)."""
    if carry.human.resolved_at:
        return Outcome.HUMAN_ONLY if carry.ai_turns == 0 else Outcome.ESCALATED
    if carry.escalation_trigger is not None:
        return Outcome.ABANDONED
    if carry.ai_turns > 0:
        return Outcome.CONTAINED
    return Outcome.ABANDONED


def handle_segments(carry: InteractionCarry, ended_at: str) -> dict[str, float]:
    human = carry.human
    ai_end = carry.ai_ended_at or human.requested_at or ended_at
    queue_end = human.accepted_at or (ended_at if human.requested_at else None)
    return {
        "ai": round(_seconds(carry.ai_started_at, ai_end), 3),
        "queue": round(_seconds(human.requested_at, queue_end), 3),
        "human": round(_seconds(human.accepted_at, human.resolved_at or ended_at), 3),
        "total": round(_seconds(carry.started_at, ended_at), 3),
    }


def after_transfer_seconds(carry: InteractionCarry, ended_at: str) -> float:
    """The part of an AI-assisted interaction after the AI handed it to a human: what makes
    escalated interactions longer than human-only ones (0 when the AI never handed over)."""
    if carry.ai_turns == 0 or not carry.human.requested_at:
        return 0.0
    return round(_seconds(carry.human.requested_at, ended_at), 3)


def build_facts(
    carry: InteractionCarry, workflow_id: str, ended_at: str, outcome: Outcome
) -> InteractionFacts:
    classification = carry.classification
    decision = carry.decision
    segments = handle_segments(carry, ended_at)
    first = carry.decisions[0] if carry.decisions else {}
    endpoint = decision.ai_endpoint if decision else None
    return InteractionFacts(
        interaction_id=carry.request.interaction_id,
        workflow_id=workflow_id,
        channel=carry.channel.value,
        initial_channel=carry.request.channel.value,
        segment=carry.request.customer.segment,
        language=carry.request.customer.language,
        region=carry.request.customer.region,
        intent=classification.intent if classification else "unknown",
        confidence=classification.confidence if classification else 0.0,
        pattern=carry.pattern.value if carry.pattern else "unknown",
        route=str(first.get("route", "human")),
        pool=final_pool(carry).value,
        outcome=outcome.value,
        escalation_trigger=carry.escalation_trigger.value if carry.escalation_trigger else None,
        model_version=carry.last_model_version,
        classifier_version=classification.model_version if classification else "none",
        config_version=decision.config_version if decision else 0,
        ai_endpoint=f"{endpoint.name}:{endpoint.version}" if endpoint else None,
        human_queue=carry.human.queue,
        human_agent=carry.human.agent_id,
        queue=carry.human.queue or (decision.human_queue if decision else None),
        started_at=carry.started_at,
        ended_at=ended_at,
        turns=carry.turns,
        ai_seconds=segments["ai"],
        queue_seconds=segments["queue"],
        human_seconds=segments["human"],
        total_seconds=segments["total"],
        after_transfer_seconds=after_transfer_seconds(carry, ended_at),
        ai_calls=carry.usage.ai_calls,
        ai_failures=carry.usage.ai_failures,
        ai_latency_ms_total=round(carry.usage.ai_latency_ms_total, 3),
        ai_latency_ms_max=round(carry.usage.ai_latency_ms_max, 3),
        prompt_tokens=carry.usage.prompt_tokens,
        completion_tokens=carry.usage.completion_tokens,
        cost_usd=round(carry.usage.cost_usd, 6),
        csat=carry.csat,
        reservation_released=carry.human.reservation_released,
        saved_wait_seconds=carry.human.saved_wait_seconds,
        channel_switches=len(carry.channel_switches),
        handoffs=carry.handoff_count,
    )
