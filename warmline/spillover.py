"""Queue protection when AI capacity spills over to humans: deflect, call back, buffer, transfer.

RECONSTRUCTED FILE. The health-monitor helper overwrote the lead's original of this module by
mistake (its own WFM-event code now lives in ``warmline/wfm_signal.py``). This version was
rebuilt only from the call sites in ``workflows/interaction.py`` and ``SpilloverPolicy`` so the
tree keeps importing; the lead should put the original back in its place.

Pure: decides from the policy, the interaction and the human queue's capacity, with reasons.
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


# Customers who asked for a person, or whom a person must see, are never deflected.
_NEVER_DEFLECTED = frozenset({EscalationTrigger.EXPLICIT_REQUEST, EscalationTrigger.SENTIMENT})


def spillover_action(
    *,
    channel: Channel,
    priority: int,
    trigger: EscalationTrigger,
    capacity: HumanAvailability | None,
    has_self_service: bool,
    policy: SpilloverPolicy,
    buffered: bool,
) -> SpilloverVerdict:
    """Where an interaction bound for a human queue goes now."""
    if capacity is None:
        return SpilloverVerdict(SpilloverAction.TRANSFER, ["human capacity unknown: transfer"])
    wait = capacity.estimated_wait_seconds
    if (
        not buffered
        and has_self_service
        and priority <= policy.deflect_max_priority
        and wait > policy.deflect_when_wait_above_seconds
        and trigger not in _NEVER_DEFLECTED
    ):
        return SpilloverVerdict(
            SpilloverAction.DEFLECT,
            [f"priority {priority} <= {policy.deflect_max_priority}, wait {wait:.0f} s: deflect"],
        )
    if channel is Channel.VOICE and wait > policy.voice_callback_when_wait_above_seconds:
        return SpilloverVerdict(
            SpilloverAction.CALLBACK,
            [f"voice wait {wait:.0f} s > {policy.voice_callback_when_wait_above_seconds:g} s"],
        )
    limit = policy.max_queued_per_agent * max(capacity.agents, capacity.available_agents, 1)
    if capacity.queued >= limit:
        return SpilloverVerdict(
            SpilloverAction.BUFFER,
            [f"{capacity.queued} queued >= {limit:g} the agents can take: buffered"],
        )
    return SpilloverVerdict(SpilloverAction.TRANSFER, ["human queue has room"])
