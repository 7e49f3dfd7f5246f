"""The worker's process-local endpoint health: session counts and breakers, on a test clock."""

from __future__ import annotations

import pytest

from models.routing import EndpointHealth
from runtime.fleet_health import CallTicket, FleetHealth
from warmline.breaker import BreakerConfig

CONFIG = BreakerConfig(consecutive_failures=2, open_seconds=10.0, max_open_seconds=40.0)
BOT = ("billing-bot", "3.2")


class Clock:
    """A hand-moved monotonic clock: the module reads time only through this callable."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> FleetHealth:
    return FleetHealth(CONFIG, clock=clock)


def view(health: FleetHealth, name: str = BOT[0], version: str = BOT[1]) -> EndpointHealth:
    (found,) = [e for e in health.snapshot() if (e.name, e.version) == (name, version)]
    return found


def acquire(health: FleetHealth, name: str = BOT[0], version: str = BOT[1]) -> CallTicket:
    ticket = health.try_acquire(name, version)
    assert ticket is not None
    return ticket


def call(health: FleetHealth, success: bool) -> None:
    """One admitted call to BOT that finishes at once."""
    health.release(acquire(health), success=success)


def trip(health: FleetHealth) -> None:
    for _ in range(CONFIG.consecutive_failures):
        call(health, success=False)


def test_unknown_endpoints_are_closed_and_absent_from_the_snapshot(health: FleetHealth) -> None:
    assert health.snapshot() == []
    assert health.state(*BOT) == "closed"


def test_acquire_and_release_count_active_sessions(health: FleetHealth) -> None:
    first, second = acquire(health), acquire(health)
    assert first == second == CallTicket(*BOT, probe=False)
    assert acquire(health, "care-bot", "1") == CallTicket("care-bot", "1", probe=False)
    assert view(health).active_sessions == 2
    assert view(health, "care-bot", "1").active_sessions == 1
    health.release(first, success=True)
    assert view(health).active_sessions == 1
    health.release(second, success=True)
    health.release(second, success=True)  # an extra release never goes below zero
    assert view(health).active_sessions == 0


def test_snapshot_is_sorted_by_endpoint(health: FleetHealth) -> None:
    for name, version in [("care-bot", "2"), ("billing-bot", "3.2"), ("care-bot", "1")]:
        health.try_acquire(name, version)
    assert [(e.name, e.version) for e in health.snapshot()] == [
        ("billing-bot", "3.2"),
        ("care-bot", "1"),
        ("care-bot", "2"),
    ]


def test_failures_open_the_breaker_and_calls_are_refused(health: FleetHealth, clock: Clock) -> None:
    call(health, success=False)
    assert view(health).breaker == "closed"
    call(health, success=False)
    assert health.state(*BOT) == "open"
    assert view(health) == EndpointHealth(
        name=BOT[0], version=BOT[1], breaker="open", active_sessions=0
    )
    clock.now += CONFIG.open_seconds - 0.001
    assert health.try_acquire(*BOT) is None
    assert view(health).active_sessions == 0  # a refused call takes no slot


def test_breakers_are_per_endpoint_version(health: FleetHealth) -> None:
    trip(health)
    assert health.try_acquire("billing-bot", "3.3") is not None
    assert health.state("billing-bot", "3.3") == "closed"


def test_success_between_failures_keeps_it_closed(health: FleetHealth) -> None:
    for success in (False, True, False, True, False):
        call(health, success=success)
    assert health.state(*BOT) == "closed"


def test_expired_open_is_reported_half_open_and_admits_one_probe(
    health: FleetHealth, clock: Clock
) -> None:
    trip(health)
    clock.now += CONFIG.open_seconds
    # Routing sees half-open before anyone calls: the next call through is the probe.
    assert view(health).breaker == "half_open"
    assert health.state(*BOT) == "open"
    assert acquire(health) == CallTicket(*BOT, probe=True)
    assert health.state(*BOT) == "half_open"
    assert health.try_acquire(*BOT) is None
    # While the probe is out routing must not pick it: its call would only be refused.
    assert view(health) == EndpointHealth(
        name=BOT[0], version=BOT[1], breaker="half_open", available=False, active_sessions=1
    )


def test_probe_success_closes(health: FleetHealth, clock: Clock) -> None:
    trip(health)
    clock.now += CONFIG.open_seconds
    probe = acquire(health)
    assert probe.probe
    health.release(probe, success=True)
    assert view(health).breaker == "closed"
    assert not acquire(health).probe and not acquire(health).probe


def test_probe_failure_reopens_for_twice_as_long(health: FleetHealth, clock: Clock) -> None:
    trip(health)
    clock.now += CONFIG.open_seconds
    probe = acquire(health)
    clock.now += 1.0
    health.release(probe, success=False)
    assert view(health).breaker == "open"
    clock.now += 2 * CONFIG.open_seconds - 0.001
    assert view(health).breaker == "open"
    assert health.try_acquire(*BOT) is None
    clock.now += 0.001
    assert view(health).breaker == "half_open"
    assert acquire(health).probe


def test_reset_forgets_every_endpoint(health: FleetHealth) -> None:
    trip(health)
    health.try_acquire("care-bot", "1")
    health.reset()
    assert health.snapshot() == []
    assert health.state(*BOT) == "closed"
    assert acquire(health) == CallTicket(*BOT, probe=False)


def test_default_config_and_clock_work_without_arguments() -> None:
    health = FleetHealth()
    for _ in range(BreakerConfig().consecutive_failures - 1):
        call(health, success=False)
    assert health.state(*BOT) == "closed"
    call(health, success=False)
    assert health.state(*BOT) == "open"


def test_late_failure_from_before_opening_keeps_the_backoff(
    health: FleetHealth, clock: Clock
) -> None:
    straggler = acquire(health)  # admitted while closed, still running
    trip(health)
    clock.now += CONFIG.open_seconds
    probe = acquire(health)
    assert probe.probe and not straggler.probe
    health.release(probe, success=False)  # reopens for 2 * open_seconds from here
    reopened_at = clock.now
    clock.now += 5.0
    health.release(straggler, success=False)  # must not restart or shrink the backoff
    assert view(health) == EndpointHealth(
        name=BOT[0], version=BOT[1], breaker="open", active_sessions=0
    )
    clock.now = reopened_at + 2 * CONFIG.open_seconds - 0.001
    assert health.try_acquire(*BOT) is None
    clock.now += 0.001
    assert acquire(health).probe


def test_late_results_do_not_decide_a_half_open_breaker(health: FleetHealth, clock: Clock) -> None:
    early, late = acquire(health), acquire(health)
    trip(health)
    clock.now += CONFIG.open_seconds
    probe = acquire(health)
    health.release(early, success=True)  # would close it if it counted
    assert health.state(*BOT) == "half_open"
    health.release(late, success=False)  # would reopen it if it counted
    assert health.state(*BOT) == "half_open"
    assert health.try_acquire(*BOT) is None  # the probe is still the only call through
    health.release(probe, success=True)
    assert health.state(*BOT) == "closed"


# -- quality signals, outcomes and reports (issue 7) ------------------------------------------
LOOPING = "I'm not sure. Could you rephrase?"
HELPFUL = "I've sent a reset link to the e-mail on your account; it stays valid for 30 minutes."


def reply(health: FleetHealth, text: str, conversation: str, action: str = "reply") -> None:
    """One successful AI turn (a fast HTTP 200) and its reply."""
    call(health, success=True)
    health.record_reply(*BOT, text, action, 12, conversation)


def test_looping_200s_degrade_the_endpoint_by_quality_alone(health: FleetHealth) -> None:
    for turn in range(10):
        reply(health, LOOPING, f"conversation-{turn % 3}")
    assert health.state(*BOT) == "degraded"
    (report,) = health.reports()
    # The windows restarted with the new state; the reasons keep what decided it.
    assert report.metrics.replies == 0 and report.revision == 1
    assert any(r.startswith("low-quality replies 100%") for r in report.reasons)
    assert not any("failure" in r for r in report.reasons)
    assert view(health) == EndpointHealth(name=BOT[0], version=BOT[1], breaker="degraded")
    (_, _, transition) = health.transitions_log[-1]
    assert (transition.from_state, transition.to_state) == ("closed", "degraded")


def test_helpful_replies_keep_it_closed(health: FleetHealth) -> None:
    for turn in range(12):
        reply(health, HELPFUL if turn % 2 else "Your order shipped yesterday.", f"c-{turn}")
    assert health.state(*BOT) == "closed"


def test_outcomes_feed_containment_and_forget_the_conversation(health: FleetHealth) -> None:
    from tests.store.builders import make_facts

    reply(health, HELPFUL, "i-1")
    health.record_facts(make_facts("i-1", ai_endpoint=f"{BOT[0]}:{BOT[1]}", intent="billing"))
    health.record_facts(
        make_facts("i-2", ai_endpoint=f"{BOT[0]}:{BOT[1]}", outcome="escalated", pool="ai_assisted")
    )
    health.record_facts(make_facts("i-3", route="human", ai_endpoint=None))  # not AI-routed
    health.record_qa(*BOT, passed=False)
    (report,) = health.reports(capacity={BOT: 10})
    metrics = report.metrics
    assert (metrics.outcomes, metrics.containment_rate, metrics.escalation_rate) == (2, 0.5, 0.5)
    assert (metrics.qa_samples, metrics.qa_fail_rate, metrics.max_sessions) == (1, 1.0, 10)
    # The closed conversation was forgotten: the same key starts a new one.
    reply(health, HELPFUL, "i-1")
    assert health.reports()[0].metrics.replies == 2


def test_failure_kinds_and_refusals_are_counted(health: FleetHealth, clock: Clock) -> None:
    health.release(acquire(health), success=False, kind="rate_limited")
    health.release(acquire(health), success=False, kind="timeout")
    assert health.state(*BOT) == "open"
    assert health.try_acquire(*BOT) is None
    (report,) = health.reports()
    m = report.metrics
    assert (m.calls, m.rate_limited_rate, m.timeout_rate, m.refused) == (0, None, None, 1)
    assert report.next_probe_at is not None and not report.routable


def test_restriction_is_empty_without_a_degradation_decision(health: FleetHealth) -> None:
    assert health.restriction(*BOT).model_dump() == {
        "allowed_intents": None,
        "min_confidence": None,
        "max_sessions": None,
    }
