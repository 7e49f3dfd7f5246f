"""Per-endpoint circuit breaker as one pure transition function.

The clock is an argument, never read here, so every transition is testable without waiting.
This is the minimal Closed/Open/Half-open machine the interaction path needs; quality-driven
Degraded states build on the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    DEGRADED = "degraded"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    open_seconds: float = 10.0
    max_open_seconds: float = 120.0


@dataclass(frozen=True)
class Breaker:
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    open_seconds: float = 0.0
    probe_in_flight: bool = False


def allows_request(b: Breaker, now: float) -> tuple[Breaker, bool, bool]:
    """Whether a call may go to the endpoint, and whether it is the probe: an expired Open
    lets exactly one probe through."""
    if b.state is BreakerState.OPEN:
        if now - b.opened_at >= b.open_seconds:
            return replace(b, state=BreakerState.HALF_OPEN, probe_in_flight=True), True, True
        return b, False, False
    if b.state is BreakerState.HALF_OPEN:
        if b.probe_in_flight:
            return b, False, False
        return replace(b, probe_in_flight=True), True, True
    return b, True, False


def is_routable(b: Breaker, now: float) -> bool:
    """Routing view: Open endpoints are skipped until their timeout passes."""
    if b.state is BreakerState.OPEN:
        return now - b.opened_at >= b.open_seconds
    return True


def on_result(
    b: Breaker, success: bool, now: float, config: BreakerConfig, probe: bool = False
) -> Breaker:
    """Fold one call's outcome in. While Open or Half-open only the probe's result counts:
    calls let through before the breaker opened may finish late and must not close it early
    or reset its backoff."""
    if b.state in (BreakerState.OPEN, BreakerState.HALF_OPEN) and not probe:
        return b
    if success:
        return Breaker()
    if b.state is BreakerState.HALF_OPEN:
        backoff = min(max(b.open_seconds * 2, config.open_seconds), config.max_open_seconds)
        return Breaker(BreakerState.OPEN, b.consecutive_failures + 1, now, backoff)
    failures = b.consecutive_failures + 1
    if failures >= config.failure_threshold:
        return Breaker(BreakerState.OPEN, failures, now, config.open_seconds)
    return replace(b, consecutive_failures=failures)
