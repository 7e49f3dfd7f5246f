"""Graceful degradation: keep partial AI service under stress instead of all-or-nothing.

The breaker answers "may this endpoint take calls at all"; this policy answers "which calls,
and how many", following the reference's three levers:

* capability shedding: narrow the endpoint's intents to those with the best containment
  (observed in the window when there is enough of it, else the config's capability scores) and
  lowest risk (the config's AI-eligible list), so complex work goes to humans preemptively;
* confidence-threshold tightening: only interactions the classifier is very sure of;
* a cap on concurrent sessions below the concurrency at which the endpoint showed stress.

Levels rise at once. They fall with hysteresis: stress is lifted only once every stress
signal is below ``lift_ratio`` x its threshold and the level has held ``lift_after_seconds``;
Degraded and Outage follow the breaker, which has its own hysteresis. After an outage the
session cap ramps back in steps (``recovery_steps``), so traffic returns gradually.
Every decision carries its reasons; a caller records it only when ``changed`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from models.health import (
    DegradationDecision,
    DegradationLevel,
    EndpointMetrics,
    RoutingRestriction,
)
from warmline.breaker import BreakerState

SEVERITY = {
    DegradationLevel.NORMAL: 0,
    DegradationLevel.RECOVERING: 1,
    DegradationLevel.STRESSED: 2,
    DegradationLevel.DEGRADED: 3,
    DegradationLevel.OUTAGE: 4,
}


@dataclass(frozen=True)
class DegradationConfig:
    stress_utilisation: float = 0.8
    """Reference: concurrent session utilisation < 80% sustained."""
    stress_p95_ms: float = 4_000.0
    stress_rate_limited_rate: float = 0.05
    stress_slow_call_rate: float = 0.2
    minimum_calls: int = 10
    lift_ratio: float = 0.7
    lift_after_seconds: float = 30.0
    session_cap_ratio: float = 0.8
    min_session_cap: int = 1
    shed_min_capability: float = 0.85
    shed_max_intents: int = 5
    min_intent_outcomes: int = 10
    confidence_stressed: float = 0.95
    confidence_degraded: float = 0.97
    recovery_seconds: float = 60.0
    recovery_steps: tuple[float, ...] = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class EndpointProfile:
    """What the routing config says about an endpoint version: skills, capacity, risk."""

    name: str
    version: str
    capability: Mapping[str, float] = field(default_factory=dict)
    max_sessions: int = 100
    low_risk_intents: frozenset[str] | None = None
    """Intents safe to keep on AI under degradation; ``None`` means any intent."""
    config_version: int | None = None


@dataclass(frozen=True)
class DegradationInputs:
    now: float
    breaker: BreakerState
    metrics: EndpointMetrics
    profile: EndpointProfile
    by_intent: Mapping[str, list[int]] = field(default_factory=dict)
    """intent -> [outcomes, contained] in the window."""
    recovered_at: float | None = None
    """When the breaker last closed after an outage (starts the recovery ramp)."""


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def stress_signals(
    metrics: EndpointMetrics, config: DegradationConfig, ratio: float = 1.0
) -> list[str]:
    """Signals at or above ``ratio`` x their threshold (``ratio`` < 1 asks for a margin)."""
    found = []
    if metrics.utilisation is not None and metrics.utilisation >= config.stress_utilisation * ratio:
        found.append(
            f"utilisation {metrics.utilisation:.0%} >= {config.stress_utilisation * ratio:.0%}"
        )
    if metrics.calls >= config.minimum_calls:
        p95 = metrics.latency_p95_ms
        if p95 is not None and p95 >= config.stress_p95_ms * ratio:
            found.append(f"p95 latency {p95:.0f} ms >= {config.stress_p95_ms * ratio:.0f} ms")
        limited = metrics.rate_limited_rate or 0.0
        if limited >= config.stress_rate_limited_rate * ratio and limited > 0:
            found.append(f"429 rate {limited:.0%} >= {config.stress_rate_limited_rate * ratio:.0%}")
        slow = metrics.slow_call_rate or 0.0
        if slow >= config.stress_slow_call_rate * ratio and slow > 0:
            found.append(f"slow-call rate {slow:.0%} >= {config.stress_slow_call_rate * ratio:.0%}")
    return found


def shed_intents(
    profile: EndpointProfile, by_intent: Mapping[str, list[int]], config: DegradationConfig
) -> tuple[list[str], str]:
    """Intents kept on AI: low risk, best containment first (observed beats configured)."""
    scores: dict[str, float] = {}
    for intent, capability in profile.capability.items():
        if intent == "*":
            continue
        if profile.low_risk_intents is not None and intent not in profile.low_risk_intents:
            continue
        outcomes, contained = by_intent.get(intent, [0, 0])
        score = contained / outcomes if outcomes >= config.min_intent_outcomes else capability
        if score >= config.shed_min_capability:
            scores[intent] = score
    ranked = sorted(scores, key=lambda intent: (-scores[intent], intent))
    kept = sorted(ranked[: config.shed_max_intents])
    how = (
        f"kept {len(kept)} low-risk intent(s) with containment >= "
        f"{config.shed_min_capability:.0%}: {', '.join(kept) or 'none'}"
    )
    return kept, how


def _session_cap(sessions: int, profile: EndpointProfile, config: DegradationConfig) -> int:
    stressed = min(max(sessions, 1), profile.max_sessions)
    return max(config.min_session_cap, math.floor(stressed * config.session_cap_ratio))


def _target(
    previous: DegradationDecision | None, inputs: DegradationInputs, config: DegradationConfig
) -> tuple[DegradationLevel, list[str]]:
    if inputs.breaker in (BreakerState.OPEN, BreakerState.HALF_OPEN):
        return DegradationLevel.OUTAGE, [f"breaker {inputs.breaker.value}: no AI traffic"]
    if inputs.breaker is BreakerState.DEGRADED:
        return DegradationLevel.DEGRADED, ["breaker degraded: below quality thresholds"]
    stress = stress_signals(inputs.metrics, config)
    if stress:
        return DegradationLevel.STRESSED, stress
    was_stressed = previous is not None and previous.level is DegradationLevel.STRESSED
    if was_stressed and previous is not None:
        margin = stress_signals(inputs.metrics, config, config.lift_ratio)
        held = inputs.now - previous.since.timestamp()
        if margin or held < config.lift_after_seconds:
            why = margin or [f"stress lifts after {config.lift_after_seconds:g} s below threshold"]
            return DegradationLevel.STRESSED, [f"holding: {r}" for r in why]
    if inputs.recovered_at is not None:
        elapsed = inputs.now - inputs.recovered_at
        if 0 <= elapsed < config.recovery_seconds:
            return DegradationLevel.RECOVERING, [
                f"recovered {elapsed:.0f} s ago; ramping back over {config.recovery_seconds:g} s"
            ]
    return DegradationLevel.NORMAL, ["no stress signal"]


def decide(
    previous: DegradationDecision | None,
    inputs: DegradationInputs,
    config: DegradationConfig | None = None,
) -> DegradationDecision:
    """The degradation this endpoint version should be under now, with reasons."""
    config = config or DegradationConfig()
    level, reasons = _target(previous, inputs, config)
    profile = inputs.profile
    same_level = previous is not None and previous.level is level
    restriction = RoutingRestriction()
    stressed_sessions: int | None = None
    if level is DegradationLevel.STRESSED:
        stressed_sessions = (
            previous.stressed_sessions
            if same_level and previous is not None and previous.stressed_sessions
            else inputs.metrics.active_sessions
        )
        cap = _session_cap(stressed_sessions or 0, profile, config)
        restriction = RoutingRestriction(
            min_confidence=config.confidence_stressed, max_sessions=cap
        )
        reasons.append(
            f"session cap {cap} ({config.session_cap_ratio:.0%} of {stressed_sessions} at stress)"
        )
        reasons.append(f"confidence threshold raised to {config.confidence_stressed:g}")
    elif level is DegradationLevel.DEGRADED:
        if same_level and previous is not None:
            kept = list(previous.restriction.allowed_intents or [])
            how = "kept the intents chosen when degradation began"
        else:
            kept, how = shed_intents(profile, inputs.by_intent, config)
        restriction = RoutingRestriction(
            allowed_intents=kept, min_confidence=config.confidence_degraded
        )
        reasons += [how, f"confidence threshold raised to {config.confidence_degraded:g}"]
    elif level is DegradationLevel.RECOVERING and inputs.recovered_at is not None:
        fraction = (inputs.now - inputs.recovered_at) / config.recovery_seconds
        share = max(
            [s for s in config.recovery_steps if s <= fraction] or [config.recovery_steps[0]]
        )
        cap = max(config.min_session_cap, math.ceil(profile.max_sessions * share))
        restriction = RoutingRestriction(max_sessions=cap)
        reasons.append(f"session cap {cap} ({share:.0%} of capacity {profile.max_sessions})")
    since = previous.since if same_level and previous is not None else _utc(inputs.now)
    return DegradationDecision(
        endpoint=f"{profile.name}:{profile.version}",
        name=profile.name,
        version=profile.version,
        level=level,
        restriction=restriction,
        reasons=reasons,
        decided_at=_utc(inputs.now),
        since=since,
        stressed_sessions=stressed_sessions,
        config_version=profile.config_version,
    )


def changed(previous: DegradationDecision | None, current: DegradationDecision) -> bool:
    """Whether ``current`` must be recorded: a new level or a new restriction."""
    if previous is None:
        return current.level is not DegradationLevel.NORMAL
    return previous.level is not current.level or previous.restriction != current.restriction


def severity(level: DegradationLevel) -> int:
    return SEVERITY[level]
