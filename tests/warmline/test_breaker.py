"""Every transition of the pure breaker ``step(breaker, event, config)``, clock passed in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from warmline.breaker import (
    Acquire,
    Breaker,
    BreakerConfig,
    BreakerState,
    ClaimProbe,
    Evaluate,
    Finished,
    Permit,
    QualityThresholds,
    Reject,
    Reset,
    Transition,
    Verdict,
    assess,
    next_probe_at,
    routable,
    step,
)
from warmline.health import WindowAggregate

CONFIG = BreakerConfig(
    consecutive_failures=3,
    minimum_calls=10,
    open_seconds=10.0,
    max_open_seconds=50.0,
    min_degraded_seconds=30.0,
)
CLOSED, DEGRADED = BreakerState.CLOSED, BreakerState.DEGRADED
OPEN, HALF_OPEN = BreakerState.OPEN, BreakerState.HALF_OPEN


def stats(**counts: int) -> WindowAggregate:
    return WindowAggregate(**counts)  # type: ignore[arg-type]


HEALTHY = stats(calls=20, replies=20, conversations=10)
LOOPING = stats(calls=20, replies=20, conversations=10, no_progress=14, repeated=14, loops=6)


def transitions(actions: tuple[object, ...]) -> list[tuple[BreakerState, BreakerState]]:
    return [(a.from_state, a.to_state) for a in actions if isinstance(a, Transition)]


def evaluate(b: Breaker, window: WindowAggregate, now: float = 0.0) -> Breaker:
    return step(b, Evaluate(now, window), CONFIG)[0]


def opened_at(now: float) -> Breaker:
    b, actions = step(
        Breaker(), Evaluate(now, stats(calls=3, failures=3, failure_streak=3)), CONFIG
    )
    assert b.state is OPEN and transitions(actions) == [(CLOSED, OPEN)]
    return b


def probe_admitted(b: Breaker, now: float, owner: str = "local") -> Breaker:
    b, actions = step(b, Acquire(now, owner), CONFIG)
    assert Permit(probe=True) in actions
    assert b.state is HALF_OPEN and b.probe_in_flight
    return b


def probe_fails(b: Breaker, now: float) -> Breaker:
    b, actions = step(probe_admitted(b, now), Finished(now, False, probe=True), CONFIG)
    assert transitions(actions) == [(HALF_OPEN, OPEN)]
    return b


# -- defaults and verdicts ----------------------------------------------------------------------
def test_defaults_are_named_in_the_config() -> None:
    config = BreakerConfig()
    assert (config.failure_rate_threshold, config.minimum_calls) == (0.5, 10)
    assert (config.open_seconds, config.max_open_seconds, config.backoff_multiplier) == (
        10.0,
        120.0,
        2.0,
    )
    assert config.consecutive_failures == 5 and config.quality == QualityThresholds()
    assert Breaker().state is CLOSED


def test_too_few_calls_is_inconclusive_and_changes_nothing() -> None:
    window = stats(calls=9, failures=4)
    assert assess(window, CONFIG, CLOSED).verdict is Verdict.INCONCLUSIVE
    b = Breaker()
    assert step(b, Evaluate(1.0, window), CONFIG) == (b, ())


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        (stats(calls=2, failures=3, failure_streak=3), "3 consecutive failures"),
        (stats(calls=10, failures=5), "failure rate 50% >= 50% over 10 calls"),
        (stats(calls=10, slow_calls=8), "slow-call rate 80% >= 80%"),
    ],
)
def test_failing_windows_open_a_closed_breaker(window: WindowAggregate, reason: str) -> None:
    b, actions = step(Breaker(), Evaluate(42.0, window), CONFIG)
    assert b.state is OPEN and (b.opened_at, b.open_seconds, b.since) == (42.0, 10.0, 42.0)
    assert transitions(actions) == [(CLOSED, OPEN)]
    assert any(r.startswith(reason) for r in b.reasons), b.reasons
    assert next_probe_at(b) == 52.0


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        (stats(calls=20, failures=4), "failure rate 20%"),
        (stats(calls=20, slow_calls=7), "slow-call rate 35%"),
        (stats(calls=20, replies=20, low_quality=7), "low-quality replies 35%"),
        (stats(calls=20, replies=20, no_progress=13), "replies without progress 65%"),
        (stats(calls=20, replies=20, conversations=8, loops=2), "reasoning loops 25%"),
        (stats(calls=20, outcomes=20, contained=5), "containment 25% < 30%"),
        (stats(calls=20, outcomes=20, escalated=15), "escalation rate 75%"),
        (stats(calls=20, qa_samples=5, qa_failed=1), "QA failures 20%"),
    ],
)
def test_each_quality_signal_alone_degrades(window: WindowAggregate, reason: str) -> None:
    b, actions = step(Breaker(), Evaluate(5.0, window), CONFIG)
    assert b.state is DEGRADED and b.since == 5.0
    assert transitions(actions) == [(CLOSED, DEGRADED)]
    assert any(r.startswith(reason) for r in b.reasons), b.reasons


def test_looping_200s_degrade_with_no_infrastructure_failure() -> None:
    # Every call succeeded quickly; only the replies say the agent goes round in circles.
    assert LOOPING.failures == 0 and LOOPING.slow_calls == 0
    b = evaluate(Breaker(), LOOPING)
    assert b.state is DEGRADED
    assert {r.split(" ")[0] for r in b.reasons} >= {"replies", "reasoning"}


def test_each_quality_signal_waits_for_its_own_minimum_samples() -> None:
    few = stats(calls=20, replies=9, low_quality=9, outcomes=19, contained=0, qa_samples=4)
    assert assess(few, CONFIG, CLOSED).verdict is Verdict.HEALTHY


def test_healthy_window_keeps_closed() -> None:
    b = Breaker(since=1.0)
    assert step(b, Evaluate(100.0, HEALTHY), CONFIG) == (b, ())


# -- Degraded -------------------------------------------------------------------------------------
def test_degraded_opens_on_hard_failures() -> None:
    b = evaluate(Breaker(), LOOPING, now=0.0)
    b, actions = step(b, Evaluate(3.0, stats(calls=10, failures=6)), CONFIG)
    assert b.state is OPEN and transitions(actions) == [(DEGRADED, OPEN)]


def test_degraded_closes_only_after_the_dwell_time() -> None:
    b = evaluate(Breaker(), LOOPING, now=100.0)
    assert evaluate(b, HEALTHY, now=129.9).state is DEGRADED
    closed, actions = step(b, Evaluate(130.0, HEALTHY), CONFIG)
    assert closed.state is CLOSED and transitions(actions) == [(DEGRADED, CLOSED)]


def test_degraded_needs_a_margin_below_the_threshold_to_close() -> None:
    b = evaluate(Breaker(), LOOPING, now=0.0)
    # 25% low quality is under the 30% threshold but above 30% x recovery ratio 0.5 = 15%.
    borderline = stats(calls=20, replies=20, low_quality=5)
    assert assess(borderline, CONFIG, CLOSED).verdict is Verdict.HEALTHY
    assert assess(borderline, CONFIG, DEGRADED).verdict is Verdict.DEGRADED
    assert evaluate(b, borderline, now=1_000.0).state is DEGRADED
    clean = stats(calls=20, replies=20, low_quality=2)
    assert evaluate(b, clean, now=1_000.0).state is CLOSED


def test_containment_recovery_also_needs_a_margin() -> None:
    b = evaluate(Breaker(), stats(calls=20, outcomes=20, contained=4), now=0.0)
    assert b.state is DEGRADED
    middling = stats(calls=20, replies=20, outcomes=20, contained=12)  # 60% < 65% needed
    assert evaluate(b, middling, now=100.0).state is DEGRADED
    good = stats(calls=20, replies=20, outcomes=20, contained=14)
    assert evaluate(b, good, now=100.0).state is CLOSED


def test_degraded_without_enough_replies_is_inconclusive() -> None:
    b = evaluate(Breaker(), LOOPING, now=0.0)
    quiet = stats(calls=20, replies=3)
    assert assess(quiet, CONFIG, DEGRADED).verdict is Verdict.INCONCLUSIVE
    assert evaluate(b, quiet, now=1_000.0).state is DEGRADED


def test_closed_and_degraded_let_every_call_through() -> None:
    for b in (Breaker(), Breaker(DEGRADED)):
        assert step(b, Acquire(0.0), CONFIG) == (b, (Permit(),))
        assert step(b, Finished(0.0, False), CONFIG) == (b, ())


# -- Open -----------------------------------------------------------------------------------------
def test_open_rejects_until_the_timeout() -> None:
    b = opened_at(100.0)
    for now in (100.0, 105.0, 109.999):
        after, actions = step(b, Acquire(now), CONFIG)
        assert after == b and isinstance(actions[0], Reject)
    assert not routable(b, 109.9) and routable(b, 110.0)


def test_expired_open_admits_exactly_one_probe() -> None:
    b, actions = step(opened_at(100.0), Acquire(110.0, "w1"), CONFIG)
    assert transitions(actions) == [(OPEN, HALF_OPEN)] and actions[-1] == Permit(probe=True)
    assert (b.probe_owner, b.probe_in_flight, b.opened_at, b.open_seconds) == ("w1", True, 100, 10)
    for now in (110.0, 111.0, 500.0):
        after, actions = step(b, Acquire(now, "w1"), CONFIG)
        assert after == b and actions == (Reject("half-open; the probe is in flight"),)
    assert not routable(b, 111.0, "w1")


def test_shared_breakers_wait_for_a_committed_probe_claim() -> None:
    b = opened_at(0.0)
    after, actions = step(b, Acquire(10.0, "w1", claim_required=True), CONFIG)
    assert after == b and isinstance(actions[0], Reject)
    assert not routable(b, 10.0, "w1", claim_required=True)
    assert step(b, ClaimProbe(9.9, "w1"), CONFIG) == (b, ())
    claimed, actions = step(b, ClaimProbe(10.0, "w1"), CONFIG)
    assert transitions(actions) == [(OPEN, HALF_OPEN)]
    assert (claimed.probe_owner, claimed.probe_in_flight) == ("w1", False)
    # Only the claimant may send the probe.
    assert step(claimed, Acquire(10.5, "w2", claim_required=True), CONFIG)[1] == (
        Reject("half-open; the probe belongs to w1"),
    )
    assert routable(claimed, 10.5, "w1") and not routable(claimed, 10.5, "w2")
    probing, actions = step(claimed, Acquire(10.5, "w1", claim_required=True), CONFIG)
    assert actions == (Permit(probe=True),) and probing.probe_in_flight


def test_open_ignores_windows_and_late_results() -> None:
    b = opened_at(100.0)
    assert step(b, Evaluate(101.0, HEALTHY), CONFIG) == (b, ())
    assert step(b, Finished(101.0, True), CONFIG) == (b, ())
    assert step(b, Finished(105.0, False), CONFIG) == (b, ())


def test_late_failure_while_open_keeps_the_doubled_backoff() -> None:
    b = probe_fails(opened_at(0.0), 10.0)
    assert (b.opened_at, b.open_seconds) == (10.0, 20.0)
    assert step(b, Finished(25.0, False), CONFIG) == (b, ())
    assert step(b, Finished(25.0, True), CONFIG) == (b, ())
    assert isinstance(step(b, Acquire(29.9), CONFIG)[1][0], Reject)
    assert step(b, Acquire(30.0), CONFIG)[1][-1] == Permit(probe=True)


# -- Half-open ------------------------------------------------------------------------------------
def test_probe_success_closes() -> None:
    b = probe_admitted(opened_at(0.0), 10.0)
    closed, actions = step(b, Finished(10.5, True, probe=True), CONFIG)
    assert closed == Breaker(CLOSED, since=10.5, reasons=("half-open probe succeeded",))
    assert transitions(actions) == [(HALF_OPEN, CLOSED)]
    assert step(closed, Acquire(10.5), CONFIG)[1] == (Permit(),)


def test_probe_failure_reopens_with_doubled_backoff() -> None:
    b = probe_fails(opened_at(0.0), 10.0)
    assert b.state is OPEN and (b.opened_at, b.open_seconds) == (10.0, 20.0)
    assert not b.probe_in_flight and b.probe_owner is None


def test_backoff_doubles_until_capped_at_max_open_seconds() -> None:
    b, now, seen = opened_at(0.0), 0.0, []
    for _ in range(5):
        now += b.open_seconds
        b = probe_fails(b, now)
        seen.append(b.open_seconds)
    assert seen == [20.0, 40.0, 50.0, 50.0, 50.0]


def test_backoff_after_a_probe_failure_is_never_below_open_seconds() -> None:
    b = Breaker(HALF_OPEN, probe_in_flight=True)
    assert step(b, Finished(5.0, False, probe=True), CONFIG)[0].open_seconds == CONFIG.open_seconds


def test_closing_after_backoff_forgets_it() -> None:
    b = probe_fails(probe_fails(opened_at(0.0), 10.0), 30.0)
    assert b.open_seconds == 40.0
    b = step(probe_admitted(b, 70.0), Finished(70.0, True, probe=True), CONFIG)[0]
    assert opened_at(80.0).open_seconds == CONFIG.open_seconds
    assert evaluate(b, stats(calls=3, failures=3, failure_streak=3), 80.0).open_seconds == 10.0


def test_only_the_probe_decides_half_open() -> None:
    b = probe_admitted(opened_at(0.0), 10.0)
    assert step(b, Finished(11.0, False), CONFIG) == (b, ())
    assert step(b, Finished(11.0, True), CONFIG) == (b, ())
    assert step(b, Evaluate(11.0, stats(calls=10, failures=10, failure_streak=10)), CONFIG) == (
        b,
        (),
    )
    reopened = step(b, Finished(12.0, False, probe=True), CONFIG)[0]
    assert (reopened.state, reopened.opened_at, reopened.open_seconds) == (OPEN, 12.0, 20.0)


def test_a_probe_result_from_a_worker_that_lost_the_claim_is_ignored() -> None:
    b = probe_admitted(opened_at(0.0), 10.0, owner="w1")
    taken = step(b, ClaimProbe(10.0 + CONFIG.probe_lease_seconds, "w2"), CONFIG)[0]
    assert (taken.probe_owner, taken.probe_in_flight, taken.state) == ("w2", False, HALF_OPEN)
    assert step(taken, Finished(50.0, True, probe=True, owner="w1"), CONFIG) == (taken, ())
    assert step(taken, Finished(50.0, True, probe=True, owner="w2"), CONFIG)[0].state is CLOSED


def test_a_fresh_claim_is_not_taken_over() -> None:
    b = step(opened_at(0.0), ClaimProbe(10.0, "w1"), CONFIG)[0]
    assert step(b, ClaimProbe(20.0, "w2"), CONFIG) == (b, ())
    assert step(b, ClaimProbe(100.0, "w1"), CONFIG) == (b, ())


def test_half_open_without_an_owner_admits_one_caller() -> None:
    b = Breaker(HALF_OPEN)
    after, actions = step(b, Acquire(0.0, "w9"), CONFIG)
    assert actions == (Permit(probe=True),) and after == replace(
        b, probe_owner="w9", probe_in_flight=True
    )


# -- reset ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", [DEGRADED, OPEN, HALF_OPEN])
def test_operator_reset_closes_any_state(state: BreakerState) -> None:
    b, actions = step(Breaker(state, opened_at=1.0, open_seconds=40.0), Reset(7.0, "maint"), CONFIG)
    assert b == Breaker(CLOSED, since=7.0, reasons=("maint",))
    assert transitions(actions) == [(state, CLOSED)]


def test_reset_of_a_closed_breaker_is_a_no_op() -> None:
    assert step(Breaker(), Reset(1.0), CONFIG) == (Breaker(), ())


def test_routable_views() -> None:
    assert routable(Breaker(), 0.0) and routable(Breaker(DEGRADED), 0.0)
    assert routable(Breaker(HALF_OPEN), 0.0)
    assert not routable(Breaker(HALF_OPEN, probe_in_flight=True), 0.0)
    assert next_probe_at(Breaker()) is None
