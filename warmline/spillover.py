"""What to do with an interaction that must go to humans, given the humans there are.

When AI capacity drops, its volume lands on human queues at once. Instead of queueing
everyone, low-priority work gets a self-service answer, voice callers get a callback rather
than a long hold, and the rest is metered into the queue at the rate the staffed agents can
take, buffered durably (by the waiting workflow) until there is room. Pure: the capacity
reading is an input recorded in history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from models.interaction import Channel, EscalationTrigger
from models.routing import HumanAvailability, SpilloverPolicy


class SpilloverAction(StrEnum):
    TRANSFER = "transfer"
    DEFLECT = "deflect"
    CALLBACK = "callback"
    BUFFER = "buffer"


@dataclass(frozen=True)
class SpilloverVerdict:
    action: SpilloverAction
    reasons: list[str] = field(default_factory=list)


# Escalations that exist because the AI could not serve, not because the customer needs a
# human: only these may be answered by self-service instead of a person.
AI_CAPACITY_TRIGGERS = frozenset(
    {EscalationTrigger.AI_UNAVAILABLE, EscalationTrigger.ROUTED_TO_HUMAN}
)


def spillover_action(
    *,
    channel: Channel,
    priority: int,
    trigger: EscalationTrigger,
    capacity: HumanAvailability | None,
    has_self_service: bool,
    policy: SpilloverPolicy,
    buffered: bool = False,
) -> SpilloverVerdict:
    """Decide transfer, deflect, callback or buffer; ``buffered`` re-checks a waiting one."""
    if capacity is None:
        return SpilloverVerdict(SpilloverAction.TRANSFER, ["human capacity unknown: transfer"])
    wait = capacity.estimated_wait_seconds
    seen = (
        f"queue {capacity.queue}: {capacity.available_agents}/{capacity.agents} agents free, "
        f"{capacity.queued} waiting, estimated wait {wait:.0f}s"
    )
    if (
        not buffered
        and trigger in AI_CAPACITY_TRIGGERS
        and has_self_service
        and priority <= policy.deflect_max_priority
        and wait > policy.deflect_when_wait_above_seconds
    ):
        return SpilloverVerdict(
            SpilloverAction.DEFLECT,
            [seen, f"priority {priority} <= {policy.deflect_max_priority}: self-service"],
        )
    if channel is Channel.VOICE and wait > policy.voice_callback_when_wait_above_seconds:
        return SpilloverVerdict(
            SpilloverAction.CALLBACK,
            [seen, f"voice wait above {policy.voice_callback_when_wait_above_seconds:.0f}s"],
        )
    agents, planned = capacity.agents, _planned_drop(capacity)
    if planned is not None:
        agents = planned[0]
        seen += f"; plan: {planned[0]} agents from {planned[1]}, metering on them"
    limit = policy.max_queued_per_agent * max(1, agents)
    if capacity.available_agents == 0 and capacity.queued >= limit:
        return SpilloverVerdict(
            SpilloverAction.BUFFER,
            [seen, f"metering: {capacity.queued} queued >= limit {limit:g}; buffered"],
        )
    return SpilloverVerdict(SpilloverAction.TRANSFER, [seen])


def _planned_drop(capacity: HumanAvailability) -> tuple[int, str] | None:
    """The next planned interval's agents when fewer than are staffed now: a queue admitted
    for today's agents would be served by the smaller shift that follows (schedule sync)."""
    upcoming = capacity.plan[1:2]
    if upcoming and upcoming[0].planned_agents < capacity.agents:
        return upcoming[0].planned_agents, upcoming[0].interval_start
    return None
