"""Graceful degradation: applied at once, lifted with hysteresis, each decision with reasons."""

from __future__ import annotations

from models.health import DegradationDecision, DegradationLevel, EndpointMetrics
from warmline.breaker import BreakerState
from warmline.degradation import (
    DegradationConfig,
    DegradationInputs,
    EndpointProfile,
    changed,
    decide,
    shed_intents,
    stress_signals,
)

CONFIG = DegradationConfig(lift_after_seconds=30.0, recovery_seconds=60.0)
PROFILE = EndpointProfile(
    name="care-bot",
    version="1",
    capability={
        "store_hours": 0.97,
        "password_reset": 0.95,
        "order_status": 0.93,
        "refund_request": 0.9,
        "update_address": 0.9,
        "billing_inquiry": 0.75,
        "*": 0.99,
    },
    max_sessions=100,
    low_risk_intents=frozenset(
        {"store_hours", "password_reset", "order_status", "update_address", "billing_inquiry"}
    ),
    config_version=7,
)
CALM = EndpointMetrics(window_seconds=30, calls=50, latency_p95_ms=800, active_sessions=20,
                       max_sessions=100, utilisation=0.2)  # fmt: skip
BUSY = CALM.model_copy(update={"active_sessions": 90, "utilisation": 0.9})


def inputs(
    now: float,
    metrics: EndpointMetrics = CALM,
    breaker: BreakerState = BreakerState.CLOSED,
    **kw: object,
) -> DegradationInputs:
    return DegradationInputs(now=now, breaker=breaker, metrics=metrics, profile=PROFILE, **kw)  # type: ignore[arg-type]


def test_calm_is_normal_and_not_worth_recording() -> None:
    decision = decide(None, inputs(0.0))
    assert decision.level is DegradationLevel.NORMAL
    assert decision.restriction.model_dump() == {
        "allowed_intents": None,
        "min_confidence": None,
        "max_sessions": None,
    }
    assert not changed(None, decision)


def test_each_stress_signal_is_named() -> None:
    slow = CALM.model_copy(update={"latency_p95_ms": 5_000.0})
    limited = CALM.model_copy(update={"rate_limited_rate": 0.1})
    sluggish = CALM.model_copy(update={"slow_call_rate": 0.25})
    assert stress_signals(BUSY, CONFIG) == ["utilisation 90% >= 80%"]
    assert stress_signals(slow, CONFIG)[0].startswith("p95 latency 5000 ms")
    assert stress_signals(limited, CONFIG)[0].startswith("429 rate 10%")
    assert stress_signals(sluggish, CONFIG)[0].startswith("slow-call rate 25%")
    few = slow.model_copy(update={"calls": 3})
    assert stress_signals(few, CONFIG) == [], "latency needs minimum calls"


def test_stress_caps_sessions_below_stressed_capacity_and_tightens_confidence() -> None:
    decision = decide(None, inputs(10.0, BUSY), CONFIG)
    assert decision.level is DegradationLevel.STRESSED
    assert decision.restriction.max_sessions == 72  # 80% of the 90 sessions at stress
    assert decision.restriction.min_confidence == 0.95
    assert decision.stressed_sessions == 90 and decision.config_version == 7
    assert any("utilisation" in r for r in decision.reasons)
    assert changed(None, decision)


def test_the_cap_does_not_chase_the_shrinking_session_count() -> None:
    first = decide(None, inputs(10.0, BUSY), CONFIG)
    fewer = BUSY.model_copy(update={"active_sessions": 85, "utilisation": 0.85})
    again = decide(first, inputs(11.0, fewer), CONFIG)
    assert again.restriction == first.restriction and again.since == first.since
    assert not changed(first, again)


def test_stress_is_held_until_below_the_lift_margin_for_the_dwell_time() -> None:
    stressed = decide(None, inputs(100.0, BUSY), CONFIG)
    # 70% utilisation: below the 80% threshold but not below 80% x 0.7 = 56%.
    warm = CALM.model_copy(update={"active_sessions": 70, "utilisation": 0.7})
    held = decide(stressed, inputs(200.0, warm), CONFIG)
    assert held.level is DegradationLevel.STRESSED
    assert any(r.startswith("holding: utilisation") for r in held.reasons)
    # Calm again, but only 10 s after stress was applied: still held.
    early = decide(stressed, inputs(110.0, CALM), CONFIG)
    assert early.level is DegradationLevel.STRESSED
    lifted = decide(stressed, inputs(130.0, CALM), CONFIG)
    assert lifted.level is DegradationLevel.NORMAL and changed(stressed, lifted)


def test_degraded_sheds_to_low_risk_intents_with_the_best_containment() -> None:
    decision = decide(None, inputs(0.0, breaker=BreakerState.DEGRADED), CONFIG)
    assert decision.level is DegradationLevel.DEGRADED
    # refund_request is capable but not low risk; billing_inquiry is low risk but below 85%.
    assert decision.restriction.allowed_intents == [
        "order_status",
        "password_reset",
        "store_hours",
        "update_address",
    ]
    assert decision.restriction.min_confidence == 0.97


def test_observed_containment_beats_the_configured_capability() -> None:
    observed = {"store_hours": [20, 10], "billing_inquiry": [20, 19], "order_status": [5, 0]}
    kept, how = shed_intents(PROFILE, observed, DegradationConfig(shed_max_intents=3))
    # store_hours contained only 50% when measured; order_status has too few samples to count.
    assert kept == ["billing_inquiry", "order_status", "password_reset"]
    assert "3 low-risk intent(s)" in how


def test_shedding_without_a_low_risk_list_ranks_every_intent() -> None:
    open_profile = EndpointProfile("x", "1", {"a": 0.9, "b": 0.95, "c": 0.5})
    assert shed_intents(open_profile, {}, CONFIG)[0] == ["a", "b"]


def test_the_shed_list_stays_fixed_while_degraded() -> None:
    first = decide(None, inputs(0.0, breaker=BreakerState.DEGRADED), CONFIG)
    observed = {"update_address": [30, 0]}
    again = decide(first, inputs(50.0, breaker=BreakerState.DEGRADED, by_intent=observed), CONFIG)
    assert again.restriction == first.restriction and not changed(first, again)


def test_outage_follows_the_breaker_and_lifts_with_it() -> None:
    out = decide(None, inputs(0.0, breaker=BreakerState.OPEN), CONFIG)
    assert out.level is DegradationLevel.OUTAGE and changed(None, out)
    assert decide(out, inputs(1.0, breaker=BreakerState.HALF_OPEN), CONFIG).level is (
        DegradationLevel.OUTAGE
    )
    back = decide(out, inputs(20.0), CONFIG)
    assert back.level is DegradationLevel.NORMAL and changed(out, back)


def test_recovery_ramps_the_session_cap_back_in_steps() -> None:
    caps = []
    previous: DegradationDecision | None = None
    for now in (100.0, 110.0, 130.0, 145.0, 159.0, 160.0):
        previous = decide(previous, inputs(now, recovered_at=100.0), CONFIG)
        caps.append((previous.level.value, previous.restriction.max_sessions))
    assert caps == [
        ("recovering", 25),
        ("recovering", 25),
        ("recovering", 50),
        ("recovering", 75),
        ("recovering", 75),
        ("normal", None),
    ]
