"""Sliding windows of AI endpoint health: cheap to feed, and mergeable across workers.

Why windows of *aggregates* rather than lists of calls: recording must stay O(1) amortised on
the hot path (a count window adds the new sample and subtracts the one it evicts; a time
window adds to the current one-second bucket and subtracts buckets as they expire), and a
window's total is a plain sum of counters plus a fixed latency histogram. Sums add up, so the
totals that many workers flush to the store merge into the fleet's view by addition, and
percentiles come from the merged histogram (bounded error) instead of sorting samples.

Three families of samples feed an endpoint's windows: calls (infrastructure health), replies
(semantic quality, see ``warmline.quality``) and interaction outcomes (containment). Each
family has its own window so "the last 100 calls" means calls, not calls and replies mixed.
Time is always an argument; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from models.health import EndpointMetrics

LATENCY_BOUNDS_MS: tuple[float, ...] = (
    10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750,
    1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 30_000, 60_000,
)  # fmt: skip
"""Upper bounds of the latency histogram bins; one more bin holds anything slower."""
_BINS = len(LATENCY_BOUNDS_MS) + 1


class CallKind(StrEnum):
    """How one AI call ended, in the error vocabulary of ``runtime.ai_client``."""

    OK = "ok"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"
    CONNECT_ERROR = "connect_error"
    ERROR = "error"
    REJECTED = "rejected"
    """A 4xx for our own bad request: counted as a call, never as the endpoint's failure."""
    REFUSED = "refused"
    """Never sent: the breaker or a session cap said no. Counted as unmet demand, not a call."""


FAILURE_KINDS = frozenset(
    {
        CallKind.TIMEOUT,
        CallKind.RATE_LIMITED,
        CallKind.SERVER_ERROR,
        CallKind.BAD_RESPONSE,
        CallKind.CONNECT_ERROR,
        CallKind.ERROR,
    }
)


def call_kind(success: bool, kind: str | None) -> CallKind:
    """Map a release's (success, error kind) to a ``CallKind``; unknown kinds are errors."""
    if success:
        return CallKind.OK
    try:
        found = CallKind(kind) if kind else CallKind.ERROR
    except ValueError:
        return CallKind.ERROR
    return CallKind.ERROR if found is CallKind.OK else found


class WindowType(StrEnum):
    COUNT = "count"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class CallSample:
    at: float
    kind: CallKind
    latency_ms: float = 0.0
    slow: bool = False


@dataclass(frozen=True, slots=True)
class ReplySample:
    """One AI reply as judged by ``warmline.quality``."""

    at: float
    tokens: int = 0
    low_quality: bool = False
    repeated: bool = False
    progress: bool = True
    new_conversation: bool = False
    loop_detected: bool = False


@dataclass(frozen=True, slots=True)
class OutcomeSample:
    """One closed AI-routed interaction, or one QA review of an AI answer (``qa_passed``)."""

    at: float
    contained: bool = False
    escalated: bool = False
    intent: str | None = None
    qa_passed: bool | None = None


Sample = CallSample | ReplySample | OutcomeSample


def _latency_bin(latency_ms: float) -> int:
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if latency_ms <= bound:
            return index
    return _BINS - 1


def _earliest(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


@dataclass(slots=True)
class WindowAggregate:
    """Counters of one window (or of many merged); every field but the times is a sum."""

    calls: int = 0
    failures: int = 0
    slow_calls: int = 0
    timeouts: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    bad_responses: int = 0
    connect_errors: int = 0
    rejected: int = 0
    refused: int = 0
    latency_ms_sum: float = 0.0
    latency_hist: list[int] = field(default_factory=lambda: [0] * _BINS)
    replies: int = 0
    conversations: int = 0
    low_quality: int = 0
    repeated: int = 0
    no_progress: int = 0
    loops: int = 0
    tokens: int = 0
    tokens_without_progress: int = 0
    outcomes: int = 0
    contained: int = 0
    escalated: int = 0
    qa_samples: int = 0
    qa_failed: int = 0
    by_intent: dict[str, list[int]] = field(default_factory=dict)
    """intent -> [outcomes, contained]: what capability shedding ranks intents by."""
    failure_streak: int = 0
    """Failures since the last success (not windowed; summed over workers when merged)."""
    oldest_at: float | None = None
    first_failure_at: float | None = None
    first_bad_reply_at: float | None = None

    # -- folding samples in and out (the O(1) hot path) ------------------------------------
    def apply(self, sample: Sample, sign: int = 1) -> None:
        if isinstance(sample, CallSample):
            self._apply_call(sample, sign)
        elif isinstance(sample, ReplySample):
            self._apply_reply(sample, sign)
        else:
            self._apply_outcome(sample, sign)

    def _apply_call(self, s: CallSample, sign: int) -> None:
        if s.kind is CallKind.REFUSED:
            self.refused += sign
            return
        self.calls += sign
        self.latency_ms_sum += sign * s.latency_ms
        self.latency_hist[_latency_bin(s.latency_ms)] += sign
        self.slow_calls += sign * s.slow
        if s.kind in FAILURE_KINDS:
            self.failures += sign
        if s.kind is CallKind.TIMEOUT:
            self.timeouts += sign
        elif s.kind is CallKind.RATE_LIMITED:
            self.rate_limited += sign
        elif s.kind is CallKind.SERVER_ERROR:
            self.server_errors += sign
        elif s.kind is CallKind.BAD_RESPONSE:
            self.bad_responses += sign
        elif s.kind is CallKind.CONNECT_ERROR:
            self.connect_errors += sign
        elif s.kind is CallKind.REJECTED:
            self.rejected += sign

    def _apply_reply(self, s: ReplySample, sign: int) -> None:
        self.replies += sign
        self.tokens += sign * s.tokens
        self.conversations += sign * s.new_conversation
        self.low_quality += sign * s.low_quality
        self.repeated += sign * s.repeated
        self.loops += sign * s.loop_detected
        if not s.progress:
            self.no_progress += sign
            self.tokens_without_progress += sign * s.tokens

    def _apply_outcome(self, s: OutcomeSample, sign: int) -> None:
        if s.qa_passed is not None:
            self.qa_samples += sign
            self.qa_failed += sign * (not s.qa_passed)
            return
        self.outcomes += sign
        self.contained += sign * s.contained
        self.escalated += sign * s.escalated
        if s.intent:
            counts = self.by_intent.setdefault(s.intent, [0, 0])
            counts[0] += sign
            counts[1] += sign * s.contained
            if counts[0] <= 0:
                del self.by_intent[s.intent]

    # -- whole aggregates --------------------------------------------------------------------
    def add(self, other: WindowAggregate, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` subtract) every counter of ``other``; times take the
        earliest on add and are left to the window to recompute on subtract."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))
        for index, count in enumerate(other.latency_hist):
            self.latency_hist[index] += sign * count
        for intent, (outcomes, contained) in other.by_intent.items():
            counts = self.by_intent.setdefault(intent, [0, 0])
            counts[0] += sign * outcomes
            counts[1] += sign * contained
            if counts[0] <= 0:
                del self.by_intent[intent]
        if sign > 0:
            self.failure_streak += other.failure_streak
            self.oldest_at = _earliest(self.oldest_at, other.oldest_at)
            self.first_failure_at = _earliest(self.first_failure_at, other.first_failure_at)
            self.first_bad_reply_at = _earliest(self.first_bad_reply_at, other.first_bad_reply_at)

    def copy(self) -> WindowAggregate:
        clone = WindowAggregate()
        clone.add(self)
        clone.failure_streak = self.failure_streak
        clone.oldest_at = self.oldest_at
        clone.first_failure_at = self.first_failure_at
        clone.first_bad_reply_at = self.first_bad_reply_at
        return clone

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the store (what a worker flushes every second)."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body["latency_hist"] = list(self.latency_hist)
        body["by_intent"] = {k: list(v) for k, v in sorted(self.by_intent.items())}
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> WindowAggregate:
        known = {f.name for f in fields(cls)}
        agg = cls(**{k: v for k, v in body.items() if k in known})
        hist = list(agg.latency_hist)[:_BINS]
        agg.latency_hist = hist + [0] * (_BINS - len(hist))
        agg.by_intent = {k: [int(v[0]), int(v[1])] for k, v in agg.by_intent.items()}
        return agg


_COUNTERS = tuple(
    f.name
    for f in fields(WindowAggregate)
    if f.name
    not in {
        "latency_hist",
        "by_intent",
        "failure_streak",
        "oldest_at",
        "first_failure_at",
        "first_bad_reply_at",
    }
)


def merge(aggregates: Iterable[WindowAggregate]) -> WindowAggregate:
    """The fleet's window: the sum of the workers' windows."""
    total = WindowAggregate()
    for agg in aggregates:
        total.add(agg)
    return total


def _is_failure(sample: Sample) -> bool:
    return isinstance(sample, CallSample) and sample.kind in FAILURE_KINDS


def _is_bad_reply(sample: Sample) -> bool:
    return isinstance(sample, ReplySample) and (sample.low_quality or not sample.progress)


# -- windows ----------------------------------------------------------------------------------
class CountWindow:
    """The last ``size`` samples (resilience4j's COUNT_BASED window)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a count window holds at least one sample")
        self.size = size
        self._samples: deque[Sample] = deque()
        self._failures_at: deque[float] = deque()
        self._bad_at: deque[float] = deque()
        self._total = WindowAggregate()

    def record(self, sample: Sample) -> None:
        self._samples.append(sample)
        self._total.apply(sample)
        if _is_failure(sample):
            self._failures_at.append(sample.at)
        if _is_bad_reply(sample):
            self._bad_at.append(sample.at)
        if len(self._samples) > self.size:
            evicted = self._samples.popleft()
            self._total.apply(evicted, -1)
            # Samples leave in arrival order, so the evicted one heads its time queue.
            if _is_failure(evicted):
                self._failures_at.popleft()
            if _is_bad_reply(evicted):
                self._bad_at.popleft()

    def total(self, now: float) -> WindowAggregate:
        agg = self._total.copy()
        agg.oldest_at = self._samples[0].at if self._samples else None
        # Arrival order is time order up to late reports, so the head is the earliest: O(1).
        agg.first_failure_at = self._failures_at[0] if self._failures_at else None
        agg.first_bad_reply_at = self._bad_at[0] if self._bad_at else None
        return agg

    def reset(self) -> None:
        self._samples.clear()
        self._failures_at.clear()
        self._bad_at.clear()
        self._total = WindowAggregate()


@dataclass(slots=True)
class _Bucket:
    start: float
    agg: WindowAggregate = field(default_factory=WindowAggregate)
    oldest_at: float | None = None
    first_failure_at: float | None = None
    first_bad_at: float | None = None


class TimeWindow:
    """Samples of the last ``seconds`` in buckets of ``bucket_seconds`` (TIME_BASED window).

    A sample older than the newest bucket (a late report) is counted in the newest bucket:
    it happened inside the window, and keeping buckets append-only keeps recording O(1).
    """

    def __init__(self, seconds: float, bucket_seconds: float = 1.0) -> None:
        if seconds <= 0 or bucket_seconds <= 0:
            raise ValueError("window and bucket lengths must be positive")
        self.seconds = seconds
        self.bucket_seconds = bucket_seconds
        self._buckets: deque[_Bucket] = deque()
        self._total = WindowAggregate()

    def _expire(self, now: float) -> None:
        horizon = now - self.seconds
        while self._buckets and self._buckets[0].start + self.bucket_seconds <= horizon:
            self._total.add(self._buckets.popleft().agg, -1)

    def record(self, sample: Sample) -> None:
        self._expire(sample.at)
        start = math.floor(sample.at / self.bucket_seconds) * self.bucket_seconds
        if not self._buckets or start > self._buckets[-1].start:
            self._buckets.append(_Bucket(start))
        bucket = self._buckets[-1]
        bucket.agg.apply(sample)
        self._total.apply(sample)
        bucket.oldest_at = _earliest(bucket.oldest_at, sample.at)
        if _is_failure(sample):
            bucket.first_failure_at = _earliest(bucket.first_failure_at, sample.at)
        if _is_bad_reply(sample):
            bucket.first_bad_at = _earliest(bucket.first_bad_at, sample.at)

    def total(self, now: float) -> WindowAggregate:
        self._expire(now)
        agg = self._total.copy()
        for bucket in self._buckets:
            agg.oldest_at = _earliest(agg.oldest_at, bucket.oldest_at)
            agg.first_failure_at = _earliest(agg.first_failure_at, bucket.first_failure_at)
            agg.first_bad_reply_at = _earliest(agg.first_bad_reply_at, bucket.first_bad_at)
        return agg

    def reset(self) -> None:
        self._buckets.clear()
        self._total = WindowAggregate()


SlidingWindow = CountWindow | TimeWindow


def new_window(window_type: WindowType, size: int, seconds: float) -> SlidingWindow:
    if window_type is WindowType.COUNT:
        return CountWindow(size)
    return TimeWindow(seconds)


class EndpointWindows:
    """One endpoint version's windows: calls, replies and outcomes, plus the failure streak."""

    def __init__(
        self,
        window_type: WindowType = WindowType.TIME,
        size: int = 100,
        seconds: float = 30.0,
        slow_call_ms: float = 8_000.0,
    ) -> None:
        self.window_type = window_type
        self.slow_call_ms = slow_call_ms
        self.calls = new_window(window_type, size, seconds)
        self.replies = new_window(window_type, size, seconds)
        self.outcomes = new_window(window_type, size, seconds)
        self.failure_streak = 0

    def record_call(self, at: float, kind: CallKind, latency_ms: float = 0.0) -> CallSample:
        sample = CallSample(at, kind, latency_ms, slow=latency_ms >= self.slow_call_ms)
        self.calls.record(sample)
        if kind in FAILURE_KINDS:
            self.failure_streak += 1
        elif kind is CallKind.OK:
            self.failure_streak = 0
        return sample

    def record_reply(self, sample: ReplySample) -> None:
        self.replies.record(sample)

    def record_outcome(self, sample: OutcomeSample) -> None:
        self.outcomes.record(sample)

    def total(self, now: float) -> WindowAggregate:
        agg = merge(w.total(now) for w in (self.calls, self.replies, self.outcomes))
        agg.failure_streak = self.failure_streak
        return agg

    def reset(self) -> None:
        for window in (self.calls, self.replies, self.outcomes):
            window.reset()
        self.failure_streak = 0


# -- reading a window ---------------------------------------------------------------------------
def percentile_ms(hist: list[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a latency histogram, interpolated inside its bin."""
    n = sum(hist)
    if n <= 0:
        return None
    rank = max(1.0, q * n)
    seen = 0
    for index, count in enumerate(hist):
        if count <= 0:
            continue
        if seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0.0
            if index >= len(LATENCY_BOUNDS_MS):
                return float(LATENCY_BOUNDS_MS[-1])
            upper = LATENCY_BOUNDS_MS[index]
            return round(lower + (upper - lower) * (rank - seen) / count, 1)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def endpoint_metrics(
    agg: WindowAggregate,
    now: float,
    window_seconds: float,
    active_sessions: int = 0,
    max_sessions: int | None = None,
) -> EndpointMetrics:
    """What operators and the degradation policy read: rates, percentiles, throughput."""
    span = window_seconds
    if agg.oldest_at is not None:
        span = min(window_seconds, max(1.0, now - agg.oldest_at))
    return EndpointMetrics(
        window_seconds=round(span, 3),
        calls=agg.calls,
        failures=agg.failures,
        error_rate=_rate(agg.failures, agg.calls),
        timeout_rate=_rate(agg.timeouts, agg.calls),
        rate_limited_rate=_rate(agg.rate_limited, agg.calls),
        slow_call_rate=_rate(agg.slow_calls, agg.calls),
        refused=agg.refused,
        failure_streak=agg.failure_streak,
        latency_p50_ms=percentile_ms(agg.latency_hist, 0.50),
        latency_p95_ms=percentile_ms(agg.latency_hist, 0.95),
        latency_p99_ms=percentile_ms(agg.latency_hist, 0.99),
        throughput_per_second=round(agg.calls / span, 4) if span > 0 else 0.0,
        conversations_per_second=round(agg.conversations / span, 4) if span > 0 else 0.0,
        active_sessions=active_sessions,
        max_sessions=max_sessions,
        utilisation=round(active_sessions / max_sessions, 4) if max_sessions else None,
        replies=agg.replies,
        low_quality_rate=_rate(agg.low_quality, agg.replies),
        repeated_reply_rate=_rate(agg.repeated, agg.replies),
        no_progress_rate=_rate(agg.no_progress, agg.replies),
        loop_rate=_rate(agg.loops, agg.conversations),
        tokens=agg.tokens,
        tokens_without_progress_share=_rate(agg.tokens_without_progress, agg.tokens),
        outcomes=agg.outcomes,
        containment_rate=_rate(agg.contained, agg.outcomes),
        escalation_rate=_rate(agg.escalated, agg.outcomes),
        qa_samples=agg.qa_samples,
        qa_fail_rate=_rate(agg.qa_failed, agg.qa_samples),
        first_failure_at=agg.first_failure_at,
    )
