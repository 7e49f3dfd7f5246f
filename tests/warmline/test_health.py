"""Sliding windows: count- and time-based, O(1) per record, mergeable, time passed in."""

from __future__ import annotations

import pytest

from warmline.health import (
    CallKind,
    CallSample,
    CountWindow,
    EndpointWindows,
    OutcomeSample,
    ReplySample,
    TimeWindow,
    WindowAggregate,
    WindowType,
    call_kind,
    endpoint_metrics,
    merge,
    percentile_ms,
)


def ok(at: float, ms: float = 100.0) -> CallSample:
    return CallSample(at, CallKind.OK, ms)


def fail(at: float, kind: CallKind = CallKind.SERVER_ERROR) -> CallSample:
    return CallSample(at, kind, 5.0)


def test_call_kind_maps_the_ai_client_vocabulary() -> None:
    assert call_kind(True, "timeout") is CallKind.OK
    assert call_kind(False, "timeout") is CallKind.TIMEOUT
    assert call_kind(False, "rate_limited") is CallKind.RATE_LIMITED
    assert call_kind(False, None) is CallKind.ERROR
    assert call_kind(False, "something-new") is CallKind.ERROR
    assert call_kind(False, "ok") is CallKind.ERROR


def test_count_window_keeps_the_last_n_samples() -> None:
    window = CountWindow(3)
    for at in range(5):
        window.record(fail(float(at)) if at < 2 else ok(float(at)))
    total = window.total(10.0)
    assert (total.calls, total.failures) == (3, 0)
    assert total.oldest_at == 2.0 and total.first_failure_at is None
    window.record(fail(5.0))
    window.record(fail(6.0, CallKind.TIMEOUT))
    total = window.total(10.0)
    assert (total.calls, total.failures, total.timeouts, total.server_errors) == (3, 2, 1, 1)
    assert total.first_failure_at == 5.0


def test_count_window_counts_each_error_kind() -> None:
    window = CountWindow(100)
    kinds = [
        CallKind.TIMEOUT,
        CallKind.RATE_LIMITED,
        CallKind.SERVER_ERROR,
        CallKind.BAD_RESPONSE,
        CallKind.CONNECT_ERROR,
        CallKind.ERROR,
        CallKind.REJECTED,
        CallKind.REFUSED,
    ]
    for i, kind in enumerate(kinds):
        window.record(CallSample(float(i), kind))
    t = window.total(10.0)
    assert (t.calls, t.failures, t.refused, t.rejected) == (7, 6, 1, 1)
    assert (t.timeouts, t.rate_limited, t.server_errors, t.bad_responses, t.connect_errors) == (
        1,
        1,
        1,
        1,
        1,
    )


def test_time_window_forgets_buckets_older_than_its_span() -> None:
    window = TimeWindow(10.0)
    window.record(fail(100.2))
    window.record(ok(105.5))
    window.record(ok(109.9))
    assert window.total(109.9).calls == 3
    assert window.total(110.5).first_failure_at == 100.2
    # The bucket [100, 101) ends at 101, which leaves a 10 s window at 111.
    total = window.total(111.0)
    assert (total.calls, total.failures, total.first_failure_at) == (2, 0, None)
    assert total.oldest_at == 105.5
    assert window.total(200.0) == WindowAggregate()


def test_time_window_counts_a_late_sample_in_the_newest_bucket() -> None:
    window = TimeWindow(10.0)
    window.record(ok(105.0))
    window.record(fail(103.0))
    total = window.total(106.0)
    assert (total.calls, total.failures, total.first_failure_at) == (2, 1, 103.0)


def test_windows_stay_bounded_and_exact_over_many_records() -> None:
    count, timed = CountWindow(50), TimeWindow(5.0)
    for i in range(10_000):
        sample = fail(i * 0.01) if i % 4 == 0 else ok(i * 0.01, ms=float(i % 7) * 10)
        count.record(sample)
        timed.record(sample)
    assert count.total(100.0).calls == 50 and count.total(100.0).failures == 12
    total = timed.total(99.99)
    assert len(timed._buckets) <= 6
    assert total.calls == 500 + 100  # 5 s of 100/s, plus the partly-covered oldest bucket
    assert total.failures == total.calls // 4


def test_reply_and_outcome_samples_fill_the_quality_counters() -> None:
    window = CountWindow(10)
    window.record(ReplySample(1.0, tokens=40, new_conversation=True))
    window.record(ReplySample(2.0, tokens=30, low_quality=True, repeated=True, progress=False))
    window.record(ReplySample(3.0, tokens=30, progress=False, loop_detected=True))
    window.record(OutcomeSample(4.0, contained=True, intent="password_reset"))
    window.record(OutcomeSample(5.0, escalated=True, intent="password_reset"))
    window.record(OutcomeSample(6.0, qa_passed=False))
    t = window.total(7.0)
    assert (t.replies, t.conversations, t.low_quality, t.repeated, t.no_progress, t.loops) == (
        3,
        1,
        1,
        1,
        2,
        1,
    )
    assert (t.tokens, t.tokens_without_progress) == (100, 60)
    assert (t.outcomes, t.contained, t.escalated, t.qa_samples, t.qa_failed) == (2, 1, 1, 1, 1)
    assert t.by_intent == {"password_reset": [2, 1]}
    assert t.first_bad_reply_at == 2.0


def test_by_intent_entries_leave_with_their_samples() -> None:
    window = CountWindow(1)
    window.record(OutcomeSample(1.0, contained=True, intent="a"))
    window.record(OutcomeSample(2.0, intent="b"))
    assert window.total(3.0).by_intent == {"b": [1, 0]}


def test_endpoint_windows_keep_families_apart_and_track_the_failure_streak() -> None:
    windows = EndpointWindows(WindowType.COUNT, size=2, seconds=30.0, slow_call_ms=1_000.0)
    windows.record_call(1.0, CallKind.OK, 1_500.0)
    for at in (2.0, 3.0, 4.0):
        windows.record_call(at, CallKind.TIMEOUT, 10_000.0)
    windows.record_reply(ReplySample(4.5))
    windows.record_reply(ReplySample(4.6))
    windows.record_reply(ReplySample(4.7))
    total = windows.total(5.0)
    assert (total.calls, total.replies, total.failure_streak, total.slow_calls) == (2, 2, 3, 2)
    windows.record_call(5.0, CallKind.REJECTED)
    assert windows.total(5.0).failure_streak == 3  # our own bad request says nothing
    windows.record_call(6.0, CallKind.OK)
    assert windows.total(6.0).failure_streak == 0
    windows.reset()
    assert windows.total(7.0) == WindowAggregate()


def test_aggregates_merge_by_addition_and_survive_json() -> None:
    a, b = TimeWindow(30.0), TimeWindow(30.0)
    a.record(fail(10.0))
    a.record(OutcomeSample(11.0, contained=True, intent="x"))
    b.record(ok(12.0, ms=800.0))
    b.record(fail(9.0, CallKind.TIMEOUT))
    left, right = a.total(20.0), b.total(20.0)
    left.failure_streak, right.failure_streak = 1, 2
    fleet = merge([WindowAggregate.from_json(left.to_json()), right])
    assert (fleet.calls, fleet.failures, fleet.timeouts, fleet.failure_streak) == (3, 2, 1, 3)
    assert fleet.first_failure_at == 9.0 and fleet.by_intent == {"x": [1, 1]}
    assert sum(fleet.latency_hist) == 3
    assert WindowAggregate.from_json(fleet.to_json()) == fleet
    assert WindowAggregate.from_json({"calls": 2, "unknown": 1}).calls == 2


def test_percentiles_come_from_the_histogram() -> None:
    window = CountWindow(1000)
    for i in range(100):
        window.record(ok(float(i), ms=90.0 if i < 95 else 2_500.0))
    hist = window.total(100.0).latency_hist
    p50, p95, p99 = (percentile_ms(hist, q) for q in (0.5, 0.95, 0.99))
    assert p50 is not None and 75 < p50 <= 100
    assert p95 is not None and 75 < p95 <= 100
    assert p99 is not None and 2_000 < p99 <= 3_000
    assert percentile_ms([0] * len(hist), 0.5) is None
    overflow = [0] * len(hist)
    overflow[-1] = 3
    assert percentile_ms(overflow, 0.5) == 60_000.0


def test_metrics_read_rates_throughput_and_utilisation() -> None:
    window = TimeWindow(30.0)
    for i in range(20):
        window.record(fail(100.0 + i) if i % 5 == 0 else ok(100.0 + i))
    window.record(ReplySample(110.0, tokens=10, new_conversation=True))
    window.record(ReplySample(111.0, tokens=30, progress=False, low_quality=True))
    window.record(OutcomeSample(112.0, contained=True))
    m = endpoint_metrics(window.total(120.0), 120.0, 30.0, active_sessions=8, max_sessions=10)
    assert (m.calls, m.failures, m.error_rate) == (20, 4, 0.2)
    assert m.window_seconds == 20.0 and m.throughput_per_second == 1.0
    assert m.conversations_per_second == 0.05
    assert (m.utilisation, m.low_quality_rate, m.no_progress_rate) == (0.8, 0.5, 0.5)
    assert (m.tokens_without_progress_share, m.containment_rate) == (0.75, 1.0)
    assert m.loop_rate == 0.0 and m.first_failure_at == 100.0
    empty = endpoint_metrics(WindowAggregate(), 0.0, 30.0)
    assert (
        empty.error_rate is None and empty.utilisation is None and empty.throughput_per_second == 0
    )


def test_windows_reject_impossible_shapes() -> None:
    with pytest.raises(ValueError):
        CountWindow(0)
    with pytest.raises(ValueError):
        TimeWindow(0.0)
