"""Capability scores from history with shrinkage toward the configured prior."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.calibration import OutcomeSample, QualityTarget
from models.routing import AIEndpoint, RoutingConfig
from warmline.capability import (
    apply_capabilities,
    capability_estimates,
    configured_capability,
    shrunk_estimate,
)

ENDPOINT = AIEndpoint(
    name="care-bot", version="1", url="http://x/v1", capability={"*": 0.7, "refund": 0.9}
)
CONFIG = RoutingConfig(ai_endpoints=[ENDPOINT])


def outcome(intent: str, contained: bool, endpoint: str = "care-bot:1") -> OutcomeSample:
    return OutcomeSample(
        intent=intent,
        channel="chat",
        segment="standard",
        confidence=0.95,
        route="ai",
        endpoint=endpoint,
        outcome="contained" if contained else "escalated",
    )


def test_configured_capability_falls_back_to_the_wildcard() -> None:
    assert configured_capability(ENDPOINT, "refund") == 0.9
    assert configured_capability(ENDPOINT, "order_status") == 0.7


def test_few_samples_move_a_score_little_many_move_it_to_the_observed_rate() -> None:
    target = QualityTarget(prior_strength=20)
    few = capability_estimates([outcome("refund", False)] * 5, CONFIG, target)
    assert few[0].configured == 0.9 and few[0].estimated == 0.72
    many = capability_estimates([outcome("refund", False)] * 2000, CONFIG, target)
    assert many[0].estimated < 0.01


def test_only_configured_endpoints_and_moves_above_the_minimum_are_proposed() -> None:
    target = QualityTarget(prior_strength=20, min_capability_change=0.02)
    evidence = [outcome("order_status", True)] * 2 + [outcome("refund", True, "gone:1")] * 50
    estimates = capability_estimates(evidence, CONFIG, target)
    assert [(e.intent, e.proposed) for e in estimates] == [("order_status", True)]
    config, changes = apply_capabilities(CONFIG, estimates)
    assert config.ai_endpoints[0].capability == {"*": 0.7, "refund": 0.9, "order_status": 0.727}
    assert changes == ["capability care-bot:1 order_status: 0.7 -> 0.727"]
    one = capability_estimates([outcome("order_status", True)], CONFIG, target)
    assert not one[0].proposed and apply_capabilities(CONFIG, one)[0] == CONFIG


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1.0),
    st.integers(min_value=0, max_value=500),
    st.data(),
    st.floats(min_value=0.5, max_value=200.0),
)
def test_an_estimate_lies_between_prior_and_observed_rate_and_moves_by_at_most_the_weight(
    prior: float, n: int, data: st.DataObject, strength: float
) -> None:
    resolved = data.draw(st.integers(min_value=0, max_value=n))
    estimate = shrunk_estimate(prior, resolved, n, strength)
    observed = resolved / n if n else prior
    assert min(prior, observed) - 1e-9 <= estimate <= max(prior, observed) + 1e-9
    assert abs(estimate - prior) <= n / (n + strength) + 1e-9
