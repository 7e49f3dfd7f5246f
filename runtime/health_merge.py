"""Deciding one endpoint's fleet-wide breaker from the merged windows (inside the store's CAS).

``decide_endpoint`` is called by ``HealthStore.update_breaker`` with the row as it is in the
database right now; it feeds the pure breaker the probe results this worker owns and the merged
window, runs the degradation policy, and returns the new row with its audit events, WFM events
and outbox rows, or ``None`` when nothing changed. No I/O here except the ``human_load``
callable, consulted only when a WFM event is actually emitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from models.health import (
    FLEET_HEALTH_STREAM,
    WFM_EVENTS_STREAM,
    BreakerTransition,
    DegradationDecision,
    DegradationLevel,
    EndpointMetrics,
    WfmCapacityEvent,
    WfmEventKind,
)
from models.routing import LIVE_ROLES, RoutingConfig
from runtime.fleet_health import ProbeResult
from store.health import BreakerChange, OutboxItem, SharedBreaker, StreamEvent, WindowFlush
from warmline.breaker import (
    Action,
    Breaker,
    BreakerConfig,
    BreakerState,
    ClaimProbe,
    Evaluate,
    Finished,
    Transition,
    step,
)
from warmline.degradation import (
    DegradationConfig,
    DegradationInputs,
    EndpointProfile,
    changed,
    decide,
    severity,
)
from warmline.health import WindowAggregate, endpoint_metrics, merge
from warmline.wfm_events import CAPACITY_CHANGED, cloud_event
from warmline.wfm_signal import (
    SpilloverInputs,
    WfmParams,
    capacity_event,
    expected_duration,
    signal_kind,
)

OUTAGE_HISTORY_KEPT = 10
HumanLoad = Callable[[], tuple[float, float | None]]


@dataclass(frozen=True)
class MergeContext:
    """Everything one sync knows besides the row: who merges, when, what, and the config."""

    worker_id: str
    now: float
    config: BreakerConfig
    windows: Sequence[WindowFlush]
    probes: Sequence[ProbeResult] = ()
    profiles: Mapping[tuple[str, str], EndpointProfile] = field(default_factory=dict)
    fallbacks: Mapping[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    """Other live versions of the same agent, per endpoint version."""
    states: Mapping[tuple[str, str], str] = field(default_factory=dict)
    degradation: DegradationConfig = field(default_factory=DegradationConfig)
    wfm: WfmParams = field(default_factory=WfmParams)
    webhook_url: str | None = None
    event_source: str = "warmline"
    """CloudEvents ``source`` of the capacity events (``WARMLINE_WFM_EVENT_SOURCE``)."""
    human_load: HumanLoad = lambda: (0.0, None)


def profiles_from(config: RoutingConfig | None) -> dict[tuple[str, str], EndpointProfile]:
    """Skills, capacity and the low-risk intent list per endpoint version, from routing."""
    if config is None:
        return {}
    human_only = {i for i, route in config.intent_map.items() if route.value == "human"}
    low_risk = frozenset(set(config.ai_eligible_intents) - human_only) or None
    return {
        (e.name, e.version): EndpointProfile(
            name=e.name,
            version=e.version,
            capability=dict(e.capability),
            max_sessions=e.max_concurrent,
            low_risk_intents=low_risk,
            config_version=config.version,
        )
        for e in config.ai_endpoints
    }


def fallbacks_from(config: RoutingConfig | None) -> dict[tuple[str, str], list[tuple[str, str]]]:
    if config is None:
        return {}
    live = [e for e in config.ai_endpoints if e.role in LIVE_ROLES and e.weight > 0]
    return {
        (e.name, e.version): [(o.name, o.version) for o in live if o.name == e.name and o != e]
        for e in config.ai_endpoints
    }


def to_breaker(row: SharedBreaker) -> Breaker:
    return Breaker(
        state=BreakerState(row.state),
        since=row.since,
        opened_at=row.opened_at,
        open_seconds=row.open_seconds,
        probe_owner=row.probe_owner,
        probe_claimed_at=row.probe_claimed_at,
        reasons=tuple(row.reasons),
    )


def windows_of(
    windows: Sequence[WindowFlush], key: tuple[str, str], revision: int
) -> list[WindowFlush]:
    return [w for w in windows if (w.name, w.version) == key and w.revision == revision]


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _steps(
    b: Breaker, key: tuple[str, str], revision: int, merged: WindowAggregate, ctx: MergeContext
) -> tuple[Breaker, list[Action]]:
    """Probe results first (only the probe decides Half-open), then the window, then a claim."""
    actions: list[Action] = []
    for probe in ctx.probes:
        if (probe.name, probe.version) == key and probe.revision == revision:
            event = Finished(probe.at, probe.success, probe=True, owner=ctx.worker_id)
            b, found = step(b, event, ctx.config)
            actions += found
    if not any(isinstance(a, Transition) for a in actions):
        b, found = step(b, Evaluate(ctx.now, merged), ctx.config)
        actions += found
    if not any(isinstance(a, Transition) for a in actions):
        b, found = step(b, ClaimProbe(ctx.now, ctx.worker_id), ctx.config)
        actions += found
    return b, actions


def decide_endpoint(
    current: SharedBreaker | None, key: tuple[str, str], ctx: MergeContext
) -> BreakerChange | None:
    """The new row for endpoint ``key`` and what to write with it, or None."""
    name, version = key
    row = current or SharedBreaker(name, version, since=ctx.now)
    window_rows = windows_of(ctx.windows, key, row.revision)
    merged = merge(WindowAggregate.from_json(w.aggregate) for w in window_rows)
    active = sum(w.active_sessions for w in ctx.windows if (w.name, w.version) == key)
    profile = ctx.profiles.get(key) or EndpointProfile(name, version)
    metrics = endpoint_metrics(
        merged, ctx.now, ctx.config.window_seconds, active, profile.max_sessions
    )
    # The AI arrival rate: new conversations, or closed interactions when no reply was judged.
    ai_rate = metrics.conversations_per_second or merged.outcomes / max(metrics.window_seconds, 1)
    before = to_breaker(row)
    after, actions = _steps(before, key, row.revision, merged, ctx)
    transitions = [a for a in actions if isinstance(a, Transition)]
    new = replace(
        row,
        state=after.state.value,
        since=after.since,
        opened_at=after.opened_at,
        open_seconds=after.open_seconds,
        probe_owner=after.probe_owner,
        probe_claimed_at=after.probe_claimed_at,
        reasons=list(after.reasons),
        outage_history=list(row.outage_history),
    )
    events: list[StreamEvent] = []
    wfm: list[WfmCapacityEvent] = []
    if transitions:
        new.revision = row.revision + 1
    for t in transitions:
        _track_outage(new, t, ai_rate)
        events.append(_transition_event(new, t, metrics, ctx, after))
    previous = DegradationDecision.model_validate(row.degradation) if row.degradation else None
    decision = decide(
        previous,
        DegradationInputs(
            now=ctx.now,
            breaker=after.state,
            metrics=metrics,
            profile=profile,
            by_intent=merged.by_intent,
            recovered_at=new.recovered_at,
        ),
        ctx.degradation,
    )
    lifted = previous is not None and severity(decision.level) < severity(previous.level)
    if changed(previous, decision):
        new.degradation = decision.model_dump(mode="json")
    if changed(previous, decision) and not _mirrors_breaker(previous, decision):
        events.append(
            StreamEvent(
                FLEET_HEALTH_STREAM,
                "degradation_lifted" if lifted else "degradation_applied",
                _utc(ctx.now).isoformat(),
                ctx.worker_id,
                decision.model_dump(mode="json"),
            )
        )
        newly_stressed = decision.level is DegradationLevel.STRESSED and (
            previous is None or severity(previous.level) < severity(DegradationLevel.STRESSED)
        )
        if newly_stressed and not transitions:
            wfm.append(_throughput_event(new, decision, merged, ai_rate, ctx))
    for t in transitions:
        if signal_kind(t.from_state.value, t.to_state.value) is not None:
            wfm.append(_breaker_event(new, t, merged, ai_rate, decision, ctx))
    if not transitions and not events and not wfm and new == row:
        return None
    for event in wfm:
        payload = event.model_dump(mode="json")
        events.append(
            StreamEvent(
                WFM_EVENTS_STREAM,
                "wfm_capacity_event",
                payload["emitted_at"],
                ctx.worker_id,
                payload,
            )
        )
    outbox = [
        OutboxItem(
            e.event_id,
            ctx.webhook_url,
            cloud_event(
                event_type=CAPACITY_CHANGED,
                event_id=e.event_id,
                source=ctx.event_source,
                occurred_at=ctx.now,
                data=e.model_dump(mode="json"),
                subject=e.endpoint,
            ),
        )
        for e in wfm
        if ctx.webhook_url
    ]
    return BreakerChange(new, events, outbox)


def _mirrors_breaker(previous: DegradationDecision | None, current: DegradationDecision) -> bool:
    """Outage in and out is the breaker's own transition; auditing it twice says nothing."""
    outage = DegradationLevel.OUTAGE
    back = previous is not None and previous.level is outage
    return current.level is outage or (back and current.level is DegradationLevel.NORMAL)


def _track_outage(new: SharedBreaker, t: Transition, conversations_per_second: float) -> None:
    """Outage start, the AI volume it took away, and its length once recovered."""
    if t.to_state is BreakerState.OPEN and t.from_state in (
        BreakerState.CLOSED,
        BreakerState.DEGRADED,
    ):
        new.outage_started_at = t.at
        new.baseline_cps = conversations_per_second
    elif t.to_state is BreakerState.CLOSED and t.from_state is BreakerState.HALF_OPEN:
        if new.outage_started_at is not None:
            new.outage_history = [*new.outage_history, round(t.at - new.outage_started_at, 3)][
                -OUTAGE_HISTORY_KEPT:
            ]
        new.outage_started_at = None
        new.recovered_at = t.at


def _transition_event(
    new: SharedBreaker, t: Transition, metrics: EndpointMetrics, ctx: MergeContext, after: Breaker
) -> StreamEvent:
    record = BreakerTransition(
        endpoint=f"{new.name}:{new.version}",
        name=new.name,
        version=new.version,
        from_state=t.from_state.value,
        to_state=t.to_state.value,
        at=_utc(t.at),
        revision=new.revision,
        reasons=list(t.reasons),
        open_seconds=after.open_seconds if t.to_state is BreakerState.OPEN else None,
        actor=ctx.worker_id,
        metrics=metrics,
    )
    return StreamEvent(
        FLEET_HEALTH_STREAM,
        "breaker_transition",
        _utc(t.at).isoformat(),
        ctx.worker_id,
        record.model_dump(mode="json"),
    )


def _fallback_share(key: tuple[str, str], ctx: MergeContext) -> float:
    healthy = [
        other
        for other in ctx.fallbacks.get(key, [])
        if ctx.states.get(other, "closed") in ("closed", "degraded")
    ]
    return 1.0 if healthy else 0.0


def _human_inputs(ctx: MergeContext) -> tuple[float, float | None]:
    return ctx.human_load()


def _breaker_event(
    new: SharedBreaker,
    t: Transition,
    merged: WindowAggregate,
    cps: float,
    decision: DegradationDecision,
    ctx: MergeContext,
) -> WfmCapacityEvent:
    key = (new.name, new.version)
    kind = signal_kind(t.from_state.value, t.to_state.value)
    restore = kind is WfmEventKind.CAPACITY_RESTORED
    shed = None
    allowed = decision.restriction.allowed_intents
    total = sum(counts[0] for counts in merged.by_intent.values())
    if t.to_state is BreakerState.DEGRADED and allowed is not None and total > 0:
        kept = sum(counts[0] for intent, counts in merged.by_intent.items() if intent in allowed)
        shed = 1.0 - kept / total
    first = merged.first_failure_at
    if t.to_state is BreakerState.DEGRADED:
        candidates = [
            v for v in (merged.first_failure_at, merged.first_bad_reply_at) if v is not None
        ]
        first = min(candidates) if candidates else None
    base, aht = _human_inputs(ctx)
    duration = None
    if t.to_state is BreakerState.OPEN:
        duration = expected_duration(new.outage_history)
    event = capacity_event(
        SpilloverInputs(
            event_id=f"{new.name}:{new.version}:r{new.revision}:{t.to_state.value}",
            name=new.name,
            version=new.version,
            from_state=t.from_state.value,
            to_state=t.to_state.value,
            detected_at=t.at,
            ai_conversations_per_second=(new.baseline_cps or cps) if restore else cps,
            first_failure_at=None if restore else first,
            containment_rate=merged.contained / merged.outcomes if merged.outcomes else None,
            shed_share=shed,
            fallback_share=_fallback_share(key, ctx),
            base_human_volume_per_interval=base,
            human_aht_seconds=aht,
            expected_duration_seconds=duration,
            reasons=tuple(t.reasons),
        ),
        ctx.wfm,
    )
    return event.model_copy(update={"emitted_at": datetime.now(UTC)})


def _throughput_event(
    new: SharedBreaker,
    decision: DegradationDecision,
    merged: WindowAggregate,
    cps: float,
    ctx: MergeContext,
) -> WfmCapacityEvent:
    """A session cap under stress caps AI throughput: the rest spills to humans."""
    base, aht = _human_inputs(ctx)
    cap = decision.restriction.max_sessions
    stressed = decision.stressed_sessions or 0
    shed = 1.0 - cap / stressed if cap is not None and stressed > 0 else 0.0
    event = capacity_event(
        SpilloverInputs(
            event_id=f"{new.name}:{new.version}:r{new.revision}:stressed:{int(ctx.now)}",
            name=new.name,
            version=new.version,
            from_state=new.state,
            to_state=new.state,
            detected_at=ctx.now,
            ai_conversations_per_second=cps,
            first_failure_at=None,
            containment_rate=merged.contained / merged.outcomes if merged.outcomes else None,
            shed_share=max(0.0, shed),
            base_human_volume_per_interval=base,
            human_aht_seconds=aht,
            kind=WfmEventKind.THROUGHPUT_DROP,
            reasons=tuple(decision.reasons),
        ),
        ctx.wfm,
    )
    return event.model_copy(update={"emitted_at": datetime.now(UTC)})
