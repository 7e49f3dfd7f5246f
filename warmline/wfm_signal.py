"""Automatic human spillover, told to WFM: which breaker changes matter and what they cost.

When AI capacity drops, the volume the AI was containing lands on humans. WFM's real-time team
can only act (recall agents, open overtime) if the signal arrives within seconds and says how
much: extra interactions per interval and, through Erlang C on the human handle time and the
target service level, how many extra agents hold that level. This module turns a breaker
transition plus measured volumes into that ``WfmCapacityEvent``; it does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from models.health import WfmCapacityEvent, WfmEventKind
from warmline.erlang import agents_needed

_SIGNALLED = {
    ("closed", "degraded"): WfmEventKind.BREAKER_CHANGE,
    ("closed", "open"): WfmEventKind.BREAKER_CHANGE,
    ("degraded", "open"): WfmEventKind.BREAKER_CHANGE,
    ("half_open", "closed"): WfmEventKind.CAPACITY_RESTORED,
    ("degraded", "closed"): WfmEventKind.CAPACITY_RESTORED,
}
"""Half-open <-> open moves are one outage continuing: WFM already knows."""


@dataclass(frozen=True)
class WfmParams:
    interval_minutes: int = 15
    human_aht_seconds: float = 360.0
    """Used when the store has no recent human handle times."""
    target_service_level: float = 0.8
    target_answer_seconds: float = 20.0
    default_containment: float = 0.7
    """Share of AI interactions assumed contained when the window has no outcomes yet."""
    default_shed_share: float = 0.5
    """Share of AI volume assumed shed by Degraded when the intent mix is unknown."""


@dataclass(frozen=True)
class SpilloverInputs:
    event_id: str
    name: str
    version: str
    from_state: str
    to_state: str
    detected_at: float
    ai_conversations_per_second: float
    """AI arrival rate of this endpoint before the change (after it, for a restore baseline)."""
    first_failure_at: float | None = None
    containment_rate: float | None = None
    shed_share: float | None = None
    """Degraded or capped: share of the endpoint's volume no longer routed to it."""
    fallback_share: float = 0.0
    """Share of the lost volume healthy alternative AI versions absorb."""
    base_human_volume_per_interval: float = 0.0
    human_aht_seconds: float | None = None
    expected_duration_seconds: float | None = None
    kind: WfmEventKind | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)


def signal_kind(from_state: str, to_state: str) -> WfmEventKind | None:
    """Whether a breaker transition is a WFM capacity signal, and which."""
    return _SIGNALLED.get((from_state, to_state))


def _utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def capacity_event(inputs: SpilloverInputs, params: WfmParams | None = None) -> WfmCapacityEvent:
    """Estimate the human impact of one AI capacity change."""
    params = params or WfmParams()
    kind = inputs.kind or signal_kind(inputs.from_state, inputs.to_state)
    if kind is None:
        raise ValueError(f"{inputs.from_state} -> {inputs.to_state} is not a capacity signal")
    interval_seconds = params.interval_minutes * 60
    reasons = list(inputs.reasons)
    ai_volume = max(0.0, inputs.ai_conversations_per_second) * interval_seconds
    containment = inputs.containment_rate
    if containment is None:
        containment = params.default_containment
        reasons.append(f"no outcomes in the window; containment assumed {containment:.0%}")
    partial = inputs.to_state == "degraded" or kind is WfmEventKind.THROUGHPUT_DROP
    lost = inputs.shed_share if partial else 1.0
    if lost is None:
        lost = params.default_shed_share
        reasons.append(f"intent mix unknown; {lost:.0%} of AI volume assumed shed")
    moved = ai_volume * containment * lost * (1.0 - inputs.fallback_share)
    if inputs.fallback_share > 0:
        reasons.append(f"{inputs.fallback_share:.0%} of it absorbed by healthy AI versions")
    extra = -moved if kind is WfmEventKind.CAPACITY_RESTORED else moved
    aht = inputs.human_aht_seconds or params.human_aht_seconds
    if not inputs.human_aht_seconds:
        reasons.append(f"no recent human handle times; AHT assumed {aht:g} s")
    base = max(0.0, inputs.base_human_volume_per_interval)
    sl, answer = params.target_service_level, params.target_answer_seconds
    before = agents_needed(base, aht, interval_seconds, sl, answer)
    after = agents_needed(max(0.0, base + extra), aht, interval_seconds, sl, answer)
    endpoint = f"{inputs.name}:{inputs.version}"
    target = f"{sl:.0%}/{answer:g}s"
    per = f"per {params.interval_minutes} min"
    if kind is WfmEventKind.CAPACITY_RESTORED:
        what = (
            f"AI endpoint {endpoint} back to {inputs.to_state}: ~{moved:.0f} interactions {per} "
            f"return to AI; {before - after} fewer agents hold {target}"
        )
    elif kind is WfmEventKind.THROUGHPUT_DROP:
        what = (
            f"AI throughput of {endpoint} capped: ~{extra:.0f} more interactions {per} need a "
            f"human; {after - before} more agents hold {target}"
        )
    else:
        what = (
            f"AI endpoint {endpoint} {inputs.from_state} -> {inputs.to_state}: ~{extra:.0f} more "
            f"interactions {per} need a human; {after - before} more agents hold {target}"
        )
    latency = None
    if inputs.first_failure_at is not None:
        latency = round(max(0.0, inputs.detected_at - inputs.first_failure_at), 3)
    detected = _utc(inputs.detected_at)
    assert detected is not None
    return WfmCapacityEvent(
        event_id=inputs.event_id,
        kind=kind,
        what_changed=what,
        endpoint=endpoint,
        name=inputs.name,
        version=inputs.version,
        from_state=inputs.from_state,
        to_state=inputs.to_state,
        interval_minutes=params.interval_minutes,
        ai_volume_per_interval=round(ai_volume, 2),
        extra_human_volume_per_interval=round(extra, 2),
        base_human_volume_per_interval=round(base, 2),
        human_aht_seconds=round(aht, 1),
        target_service_level=sl,
        target_answer_seconds=answer,
        agents_needed_before=before,
        agents_needed_after=after,
        extra_agents_needed=after - before,
        expected_duration_seconds=inputs.expected_duration_seconds,
        detected_at=detected,
        first_failure_at=_utc(inputs.first_failure_at),
        detection_latency_seconds=latency,
        reasons=reasons,
    )


def expected_duration(past_outages_seconds: list[float]) -> float | None:
    """Median of this endpoint's past outages: the best guess without a vendor status page."""
    if not past_outages_seconds:
        return None
    ordered = sorted(past_outages_seconds)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return round(ordered[middle], 1)
    return round((ordered[middle - 1] + ordered[middle]) / 2, 1)
