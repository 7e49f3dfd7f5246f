"""Every transition of the pure per-endpoint breaker, with the clock passed in as a number."""

from __future__ import annotations

from warmline.breaker import (
    Breaker,
    BreakerConfig,
    BreakerState,
    allows_request,
    is_routable,
    on_result,
)

CONFIG = BreakerConfig(failure_threshold=3, open_seconds=10.0, max_open_seconds=50.0)


def fail(b: Breaker, times: int, now: float = 0.0) -> Breaker:
    for _ in range(times):
        b = on_result(b, False, now, CONFIG)
    return b


def opened_at(now: float) -> Breaker:
    b = fail(Breaker(), CONFIG.failure_threshold, now)
    assert b.state is BreakerState.OPEN
    return b


def let_probe_through(b: Breaker, now: float) -> Breaker:
    """Admit the single probe at ``now``; the breaker is then Half-open with it in flight."""
    b, allowed, is_probe = allows_request(b, now)
    assert allowed and is_probe
    assert b.state is BreakerState.HALF_OPEN and b.probe_in_flight
    return b


def probe_fails(b: Breaker, now: float) -> Breaker:
    """Let the single probe through at ``now`` and report that it failed."""
    return on_result(let_probe_through(b, now), False, now, CONFIG, probe=True)


def test_defaults_are_named_in_the_config() -> None:
    assert BreakerConfig() == BreakerConfig(
        failure_threshold=5, open_seconds=10.0, max_open_seconds=120.0
    )
    assert Breaker().state is BreakerState.CLOSED


def test_closed_lets_every_call_through_unchanged() -> None:
    b = Breaker(consecutive_failures=2)
    after, allowed, is_probe = allows_request(b, 1_000.0)
    assert allowed and not is_probe and after == b


def test_failures_below_threshold_stay_closed_and_count() -> None:
    b = fail(Breaker(), CONFIG.failure_threshold - 1)
    assert b.state is BreakerState.CLOSED
    assert b.consecutive_failures == CONFIG.failure_threshold - 1
    assert allows_request(b, 0.0)[1]


def test_threshold_failures_open_the_breaker() -> None:
    b = fail(Breaker(), CONFIG.failure_threshold, now=42.0)
    assert b == Breaker(BreakerState.OPEN, 3, opened_at=42.0, open_seconds=CONFIG.open_seconds)


def test_success_resets_the_failure_count() -> None:
    b = fail(Breaker(), CONFIG.failure_threshold - 1)
    b = on_result(b, True, 0.0, CONFIG)
    assert b == Breaker()
    # The count starts again: threshold - 1 more failures do not open it.
    assert fail(b, CONFIG.failure_threshold - 1).state is BreakerState.CLOSED


def test_open_rejects_until_the_timeout() -> None:
    b = opened_at(100.0)
    for now in (100.0, 105.0, 109.999):
        after, allowed, is_probe = allows_request(b, now)
        assert not allowed and not is_probe and after == b


def test_expired_open_lets_exactly_one_probe_through() -> None:
    b = opened_at(100.0)
    b, allowed, is_probe = allows_request(b, 110.0)
    assert allowed and is_probe
    assert b.state is BreakerState.HALF_OPEN and b.probe_in_flight
    for now in (110.0, 111.0, 500.0):
        after, allowed, is_probe = allows_request(b, now)
        assert not allowed and not is_probe and after == b


def test_half_open_without_a_probe_in_flight_admits_one() -> None:
    b = Breaker(BreakerState.HALF_OPEN, 3, 0.0, 10.0, probe_in_flight=False)
    b, allowed, is_probe = allows_request(b, 0.0)
    assert allowed and is_probe and b.probe_in_flight
    assert allows_request(b, 0.0)[1:] == (False, False)


def test_probe_success_closes() -> None:
    b = let_probe_through(opened_at(0.0), 10.0)
    b = on_result(b, True, 10.5, CONFIG, probe=True)
    assert b == Breaker()
    assert allows_request(b, 10.5)[1:] == (True, False)


def test_probe_failure_reopens_with_doubled_backoff() -> None:
    b = probe_fails(opened_at(0.0), 10.0)
    assert b.state is BreakerState.OPEN
    assert b.opened_at == 10.0 and b.open_seconds == 20.0
    assert not b.probe_in_flight
    assert b.consecutive_failures == CONFIG.failure_threshold + 1
    assert not allows_request(b, 29.9)[1]
    assert allows_request(b, 30.0)[1]


def test_backoff_doubles_until_capped_at_max_open_seconds() -> None:
    b, now, seen = opened_at(0.0), 0.0, []
    for _ in range(5):
        now += b.open_seconds
        b = probe_fails(b, now)
        seen.append(b.open_seconds)
    assert seen == [20.0, 40.0, 50.0, 50.0, 50.0]


def test_backoff_after_a_probe_failure_is_never_below_open_seconds() -> None:
    # A half-open breaker with no backoff recorded still reopens for the configured minimum.
    b = Breaker(BreakerState.HALF_OPEN, 3, 0.0, 0.0, probe_in_flight=True)
    assert on_result(b, False, 5.0, CONFIG, probe=True).open_seconds == CONFIG.open_seconds


def test_closing_after_backoff_forgets_it() -> None:
    b = probe_fails(probe_fails(opened_at(0.0), 10.0), 30.0)
    assert b.open_seconds == 40.0
    b = let_probe_through(b, 70.0)
    b = on_result(b, True, 70.0, CONFIG, probe=True)
    # Next trip starts again from the configured timeout, not the last backoff.
    assert fail(b, CONFIG.failure_threshold, 80.0).open_seconds == CONFIG.open_seconds


def test_is_routable_hides_open_endpoints_until_their_timeout() -> None:
    b = opened_at(100.0)
    assert not is_routable(b, 100.0)
    assert not is_routable(b, 109.0)
    assert is_routable(b, 110.0)
    assert is_routable(Breaker(), 0.0)
    assert is_routable(Breaker(BreakerState.HALF_OPEN, probe_in_flight=True), 0.0)
    assert is_routable(Breaker(BreakerState.DEGRADED), 0.0)


# Calls admitted while Closed may finish after the breaker opened. Only the probe's outcome
# may move an Open or Half-open breaker.


def test_late_success_while_open_is_ignored() -> None:
    b = opened_at(100.0)
    assert on_result(b, True, 101.0, CONFIG) == b
    assert allows_request(b, 101.0)[1:] == (False, False)


def test_late_failure_while_open_is_ignored() -> None:
    b = opened_at(100.0)
    assert on_result(b, False, 105.0, CONFIG) == b


def test_late_failure_while_open_keeps_the_doubled_backoff() -> None:
    b = probe_fails(opened_at(0.0), 10.0)
    assert (b.opened_at, b.open_seconds) == (10.0, 20.0)
    # A straggler fails at 25.0: neither the opening time nor the backoff moves.
    late = on_result(b, False, 25.0, CONFIG)
    assert late == b
    assert not allows_request(late, 29.9)[1]
    assert allows_request(late, 30.0)[1:] == (True, True)


def test_late_success_while_open_keeps_the_doubled_backoff() -> None:
    b = probe_fails(opened_at(0.0), 10.0)
    assert on_result(b, True, 25.0, CONFIG) == b


def test_only_the_probes_failure_reopens_from_half_open() -> None:
    b = let_probe_through(opened_at(0.0), 10.0)
    # A straggler's failure leaves the breaker Half-open with the probe still in flight.
    assert on_result(b, False, 11.0, CONFIG) == b
    assert allows_request(b, 11.0)[1:] == (False, False)
    reopened = on_result(b, False, 12.0, CONFIG, probe=True)
    assert reopened.state is BreakerState.OPEN
    assert (reopened.opened_at, reopened.open_seconds) == (12.0, 20.0)
    assert not reopened.probe_in_flight


def test_a_late_success_does_not_close_half_open() -> None:
    b = let_probe_through(opened_at(0.0), 10.0)
    assert on_result(b, True, 11.0, CONFIG) == b
    assert b.state is BreakerState.HALF_OPEN


def test_the_probes_success_closes_half_open_despite_stragglers() -> None:
    b = let_probe_through(opened_at(0.0), 10.0)
    b = on_result(b, False, 11.0, CONFIG)  # straggler, ignored
    b = on_result(b, True, 12.0, CONFIG, probe=True)
    assert b == Breaker()
    assert allows_request(b, 12.0)[1:] == (True, False)
