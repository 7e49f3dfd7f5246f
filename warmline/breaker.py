"""Per-endpoint circuit breaker: one pure transition function ``step(breaker, event, config)``.

States (the reference's three plus its recommended Degraded):

* Closed: everything flows; each evaluation of the window may degrade or open it.
* Degraded: functional but below quality thresholds; routing sends it only simple,
  high-confidence intents. It leaves for Closed only when the window is clearly healthy again
  (thresholds scaled by ``recovery_ratio``) and it has been Degraded for ``min_degraded_seconds``
  (hysteresis, so a breaker near a threshold does not flap), or for Open on hard failures.
* Open: nothing goes to it until ``open_seconds`` pass.
* Half-open: exactly one probe call; its success closes, its failure reopens with the timeout
  multiplied by ``backoff_multiplier`` (capped at ``max_open_seconds``).

Only the probe decides Half-open, and nothing but the probe moves an Open breaker: calls let
through before it opened may finish late and must neither close it early nor reset its backoff.

Thresholds are data (``BreakerConfig``, resilience4j names where it has them). The window's
judgement is ``assess`` (healthy / degraded / failing / inconclusive; inconclusive never
changes a state, as in Argo's analysis). Every transition resets the windows (the caller's
job, signalled by ``Transition``): each state is judged on its own calls only.

Shared across workers, the probe must be unique fleet-wide: with ``claim_required`` a worker may
not take the probe on its own; a ``ClaimProbe`` committed through the store names the one
worker (``probe_owner``) whose next call is the probe, and a claim nobody used within
``probe_lease_seconds`` (that worker died or has no traffic) may be taken over.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from warmline.health import WindowAggregate, WindowType


class BreakerState(StrEnum):
    CLOSED = "closed"
    DEGRADED = "degraded"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Verdict(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class QualityThresholds:
    """When a functional endpoint counts as Degraded; each signal needs its own sample count."""

    degraded_failure_rate: float = 0.15
    degraded_slow_call_rate: float = 0.3
    minimum_replies: int = 10
    low_quality_rate: float = 0.3
    no_progress_rate: float = 0.6
    """Healthy simulated traffic repeats ~30% of answers (same topic, same reply)."""
    minimum_conversations: int = 5
    loop_rate: float = 0.25
    minimum_outcomes: int = 20
    min_containment_rate: float = 0.3
    max_escalation_rate: float = 0.7
    minimum_qa_samples: int = 5
    qa_fail_rate: float = 0.2


@dataclass(frozen=True)
class BreakerConfig:
    """Every threshold of the breaker, with its default named once."""

    failure_rate_threshold: float = 0.5
    slow_call_rate_threshold: float = 0.8
    slow_call_duration_ms: float = 8_000.0
    minimum_calls: int = 10
    consecutive_failures: int = 5
    """Failures in a row that open the breaker whatever the window holds (fast on outages)."""
    window_type: WindowType = WindowType.TIME
    window_size: int = 100
    """Samples per family in a count window."""
    window_seconds: float = 30.0
    """Span of a time window."""
    open_seconds: float = 10.0
    max_open_seconds: float = 120.0
    backoff_multiplier: float = 2.0
    probe_lease_seconds: float = 30.0
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    recovery_ratio: float = 0.5
    """Degraded -> Closed needs every rate below threshold x this (hysteresis)."""
    min_degraded_seconds: float = 30.0


@dataclass(frozen=True)
class Breaker:
    state: BreakerState = BreakerState.CLOSED
    since: float = 0.0
    opened_at: float = 0.0
    open_seconds: float = 0.0
    probe_owner: str | None = None
    probe_claimed_at: float = 0.0
    probe_in_flight: bool = False
    reasons: tuple[str, ...] = ()


# -- events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluate:
    """The window (this worker's, or the fleet's merge) was updated."""

    now: float
    stats: WindowAggregate


@dataclass(frozen=True)
class Acquire:
    """A call wants to go to the endpoint."""

    now: float
    owner: str = "local"
    claim_required: bool = False


@dataclass(frozen=True)
class Finished:
    """An admitted call ended; only a probe's outcome counts while Open or Half-open."""

    now: float
    success: bool
    probe: bool = False
    owner: str = "local"


@dataclass(frozen=True)
class ClaimProbe:
    """A worker asks to be the one whose next call is the Half-open probe."""

    now: float
    owner: str


@dataclass(frozen=True)
class Reset:
    """An operator closes the breaker by hand (after maintenance)."""

    now: float
    reason: str = "reset by operator"


Event = Evaluate | Acquire | Finished | ClaimProbe | Reset


# -- actions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transition:
    """The state changed: audit it, maybe tell WFM, and restart the windows."""

    from_state: BreakerState
    to_state: BreakerState
    at: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Permit:
    probe: bool = False


@dataclass(frozen=True)
class Reject:
    reason: str


Action = Transition | Permit | Reject


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    reasons: tuple[str, ...] = ()


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _failing(stats: WindowAggregate, config: BreakerConfig) -> list[str]:
    reasons = []
    if stats.failure_streak >= config.consecutive_failures:
        reasons.append(f"{stats.failure_streak} consecutive failures")
    if stats.calls >= config.minimum_calls:
        failure_rate = stats.failures / stats.calls
        slow_rate = stats.slow_calls / stats.calls
        if failure_rate >= config.failure_rate_threshold:
            reasons.append(
                f"failure rate {_pct(failure_rate)} >= {_pct(config.failure_rate_threshold)} "
                f"over {stats.calls} calls"
            )
        if slow_rate >= config.slow_call_rate_threshold:
            reasons.append(
                f"slow-call rate {_pct(slow_rate)} >= {_pct(config.slow_call_rate_threshold)} "
                f"(> {config.slow_call_duration_ms:g} ms) over {stats.calls} calls"
            )
    return reasons


def _degraded(stats: WindowAggregate, config: BreakerConfig, ratio: float) -> list[str]:
    """Signals past their threshold; ``ratio`` < 1 demands a margin below it (recovery)."""
    q = config.quality
    reasons = []

    def above(name: str, part: int, whole: int, minimum: int, threshold: float) -> None:
        if whole >= minimum and whole > 0 and part / whole >= threshold * ratio:
            reasons.append(f"{name} {_pct(part / whole)} >= {_pct(threshold * ratio)} of {whole}")

    def below(name: str, part: int, whole: int, minimum: int, floor: float) -> None:
        needed = 1.0 - (1.0 - floor) * ratio  # recovery asks for the same margin upwards
        if whole >= minimum and whole > 0 and part / whole < needed:
            reasons.append(f"{name} {_pct(part / whole)} < {_pct(needed)} of {whole}")

    above(
        "failure rate", stats.failures, stats.calls, config.minimum_calls, q.degraded_failure_rate
    )
    above(
        "slow-call rate",
        stats.slow_calls,
        stats.calls,
        config.minimum_calls,
        q.degraded_slow_call_rate,
    )
    above(
        "low-quality replies",
        stats.low_quality,
        stats.replies,
        q.minimum_replies,
        q.low_quality_rate,
    )
    above(
        "replies without progress",
        stats.no_progress,
        stats.replies,
        q.minimum_replies,
        q.no_progress_rate,
    )
    above("reasoning loops", stats.loops, stats.conversations, q.minimum_conversations, q.loop_rate)
    below(
        "containment", stats.contained, stats.outcomes, q.minimum_outcomes, q.min_containment_rate
    )
    above(
        "escalation rate",
        stats.escalated,
        stats.outcomes,
        q.minimum_outcomes,
        q.max_escalation_rate,
    )
    above("QA failures", stats.qa_failed, stats.qa_samples, q.minimum_qa_samples, q.qa_fail_rate)
    return reasons


def assess(stats: WindowAggregate, config: BreakerConfig, state: BreakerState) -> Assessment:
    """Judge a window for a breaker in ``state``.

    Degraded judges with the recovery margin and calls a window healthy only with enough calls
    and replies to be sure; anything short of that is inconclusive and changes nothing.
    """
    failing = _failing(stats, config)
    if failing:
        return Assessment(Verdict.FAILING, tuple(failing))
    recovering = state is BreakerState.DEGRADED
    ratio = config.recovery_ratio if recovering else 1.0
    degraded = _degraded(stats, config, ratio)
    if degraded:
        return Assessment(Verdict.DEGRADED, tuple(degraded))
    enough = stats.calls >= config.minimum_calls and (
        stats.replies >= config.quality.minimum_replies or not recovering
    )
    if not enough:
        return Assessment(
            Verdict.INCONCLUSIVE,
            (f"{stats.calls} calls, {stats.replies} replies: not enough to judge",),
        )
    return Assessment(Verdict.HEALTHY, (f"healthy over {stats.calls} calls",))


# -- the transition function --------------------------------------------------------------------
def _move(b: Breaker, new: Breaker) -> tuple[Breaker, Transition]:
    return new, Transition(b.state, new.state, new.since, new.reasons)


def _open(
    b: Breaker, now: float, reasons: tuple[str, ...], config: BreakerConfig
) -> tuple[Breaker, Transition]:
    if b.state is BreakerState.HALF_OPEN:
        backoff = max(b.open_seconds * config.backoff_multiplier, config.open_seconds)
        seconds = min(backoff, config.max_open_seconds)
    else:
        seconds = config.open_seconds
    return _move(b, Breaker(BreakerState.OPEN, now, now, seconds, reasons=reasons))


def next_probe_at(b: Breaker) -> float | None:
    return b.opened_at + b.open_seconds if b.state is BreakerState.OPEN else None


def step(b: Breaker, event: Event, config: BreakerConfig) -> tuple[Breaker, tuple[Action, ...]]:
    """The one place breaker state changes: ``(state, event, config) -> (state, actions)``."""
    if isinstance(event, Reset):
        if b.state is BreakerState.CLOSED:
            return b, ()
        closed, moved = _move(b, Breaker(BreakerState.CLOSED, event.now, reasons=(event.reason,)))
        return closed, (moved,)
    if isinstance(event, Acquire):
        return _acquire(b, event)
    if isinstance(event, ClaimProbe):
        return _claim(b, event, config)
    if isinstance(event, Finished):
        return _finished(b, event, config)
    return _evaluate(b, event, config)


def _acquire(b: Breaker, event: Acquire) -> tuple[Breaker, tuple[Action, ...]]:
    if b.state in (BreakerState.CLOSED, BreakerState.DEGRADED):
        return b, (Permit(),)
    if b.state is BreakerState.OPEN:
        due = b.opened_at + b.open_seconds
        if event.now < due:
            return b, (Reject(f"open for {due - event.now:.1f} s more"),)
        if event.claim_required:
            return b, (Reject("open; waiting for a worker to claim the probe"),)
        half, moved = _move(
            b,
            Breaker(
                BreakerState.HALF_OPEN,
                event.now,
                b.opened_at,
                b.open_seconds,
                probe_owner=event.owner,
                probe_claimed_at=event.now,
                probe_in_flight=True,
                reasons=("open timeout passed; one probe call",),
            ),
        )
        return half, (moved, Permit(probe=True))
    if b.probe_owner not in (None, event.owner):
        return b, (Reject(f"half-open; the probe belongs to {b.probe_owner}"),)
    if b.probe_in_flight:
        return b, (Reject("half-open; the probe is in flight"),)
    return replace(b, probe_owner=event.owner, probe_in_flight=True), (Permit(probe=True),)


def _claim(
    b: Breaker, event: ClaimProbe, config: BreakerConfig
) -> tuple[Breaker, tuple[Action, ...]]:
    if b.state is BreakerState.OPEN and event.now >= b.opened_at + b.open_seconds:
        half, moved = _move(
            b,
            Breaker(
                BreakerState.HALF_OPEN,
                event.now,
                b.opened_at,
                b.open_seconds,
                probe_owner=event.owner,
                probe_claimed_at=event.now,
                reasons=(f"open timeout passed; {event.owner} sends the probe",),
            ),
        )
        return half, (moved,)
    stale = event.now - b.probe_claimed_at >= config.probe_lease_seconds
    if b.state is BreakerState.HALF_OPEN and stale and b.probe_owner != event.owner:
        # The owner never reported a probe in time: another worker takes it over. A result the
        # old owner reports later names the old owner and is ignored.
        return replace(
            b, probe_owner=event.owner, probe_claimed_at=event.now, probe_in_flight=False
        ), ()
    return b, ()


def _finished(
    b: Breaker, event: Finished, config: BreakerConfig
) -> tuple[Breaker, tuple[Action, ...]]:
    if b.state is not BreakerState.HALF_OPEN or not event.probe:
        return b, ()  # Closed/Degraded judge windows; Open ignores stragglers
    if b.probe_owner not in (None, event.owner):
        return b, ()
    if event.success:
        closed, moved = _move(
            b, Breaker(BreakerState.CLOSED, event.now, reasons=("half-open probe succeeded",))
        )
        return closed, (moved,)
    opened, moved = _open(b, event.now, ("half-open probe failed",), config)
    return opened, (moved,)


def _evaluate(
    b: Breaker, event: Evaluate, config: BreakerConfig
) -> tuple[Breaker, tuple[Action, ...]]:
    if b.state not in (BreakerState.CLOSED, BreakerState.DEGRADED):
        return b, ()
    found = assess(event.stats, config, b.state)
    if found.verdict is Verdict.FAILING:
        opened, moved = _open(b, event.now, found.reasons, config)
        return opened, (moved,)
    if b.state is BreakerState.CLOSED and found.verdict is Verdict.DEGRADED:
        degraded, moved = _move(b, Breaker(BreakerState.DEGRADED, event.now, reasons=found.reasons))
        return degraded, (moved,)
    dwelt = event.now - b.since >= config.min_degraded_seconds
    if b.state is BreakerState.DEGRADED and found.verdict is Verdict.HEALTHY and dwelt:
        closed, moved = _move(b, Breaker(BreakerState.CLOSED, event.now, reasons=found.reasons))
        return closed, (moved,)
    return b, ()


def routable(b: Breaker, now: float, owner: str = "local", claim_required: bool = False) -> bool:
    """Whether a new interaction routed here now would get its call through."""
    if b.state in (BreakerState.CLOSED, BreakerState.DEGRADED):
        return True
    if b.state is BreakerState.OPEN:
        return not claim_required and now >= b.opened_at + b.open_seconds
    return b.probe_owner in (None, owner) and not b.probe_in_flight
