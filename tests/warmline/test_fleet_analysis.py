"""Per-version metrics from facts, the canary analysis template and A/B reports."""

from __future__ import annotations

from typing import Any

import pytest

from models.facts import InteractionFacts
from models.fleet import ABDesign, ABTestConfig
from models.fleet_analysis import (
    LATENCY_BUCKET_EDGES_MS,
    AnalysisOutcome,
    AnalysisTemplate,
    CanaryMetric,
    MetricCheck,
    SampleSummary,
    VersionMetrics,
)
from warmline.ab_analysis import ab_report
from warmline.canary_analysis import analyse
from warmline.fleet_metrics import latency_bucket, merge_metrics, version_metrics

LOOKS = 5  # guardrails at 0.05 / 5 = 0.01


def fact(i: int, endpoint: str, **fields: Any) -> InteractionFacts:
    base: dict[str, Any] = {
        "interaction_id": f"i-{endpoint}-{i}",
        "workflow_id": f"interaction-i-{i}",
        "channel": "chat",
        "initial_channel": "chat",
        "segment": "standard",
        "language": "en",
        "region": "us",
        "intent": "order_status",
        "confidence": 0.95,
        "pattern": "pre_acd",
        "route": "ai",
        "pool": "ai_contained",
        "outcome": "contained",
        "classifier_version": "kw",
        "config_version": 3,
        "ai_endpoint": endpoint,
        "started_at": "2026-11-02T09:00:00+00:00",
        "ended_at": "2026-11-02T09:05:00+00:00",
        "turns": 2,
        "total_seconds": 300.0,
        "ai_calls": 2,
        "ai_latency_ms_total": 400.0,
        "ai_latency_ms_max": 250.0,
        "cost_usd": 0.002,
    }
    return InteractionFacts.model_validate({**base, **fields})


def test_version_metrics_summarise_only_their_endpoint() -> None:
    facts = [
        fact(1, "bot:1"),
        fact(2, "bot:1", outcome="escalated", escalation_trigger="sentiment", csat=2),
        fact(3, "bot:1", csat=5, ai_failures=1),
        fact(4, "bot:2"),
    ]
    metrics = version_metrics("bot:1", facts)
    assert metrics.interactions == 3 and metrics.contained == 2
    assert metrics.escalations == {"sentiment": 1}
    assert metrics.csat.n == 2 and metrics.csat.mean == pytest.approx(3.5)
    assert metrics.ai_calls == 6 and metrics.ai_failures == 1
    assert sum(metrics.latency_histogram) == 3
    assert metrics.latency_histogram[latency_bucket(200.0)] == 3
    assert latency_bucket(0.0) == 0 and latency_bucket(1e9) == len(LATENCY_BUCKET_EDGES_MS) - 1
    merged = merge_metrics([metrics, version_metrics("bot:2", facts)])
    assert merged.endpoint == "bot:1+bot:2" and merged.interactions == 4
    assert merged.handle_seconds.n == 4 and merged.handle_seconds.mean == pytest.approx(300.0)


def metrics(endpoint: str, n: int, contained: int, **fields: Any) -> VersionMetrics:
    return VersionMetrics(endpoint=endpoint, interactions=n, contained=contained, **fields)


def only(*checks: MetricCheck, failure_limit: int = 0) -> AnalysisTemplate:
    return AnalysisTemplate(checks=list(checks), failure_limit=failure_limit)


CONTAINMENT = MetricCheck(
    metric=CanaryMetric.CONTAINMENT_RATE, tolerance=0.02, guardrail=True, required=True
)


def test_containment_fails_only_on_significant_evidence() -> None:
    template = only(CONTAINMENT)
    bad = analyse(
        metrics("c", 60, 20), metrics("b", 600, 480), template, LOOKS, step_index=1, at="t"
    )
    assert bad.outcome is AnalysisOutcome.FAILED
    assert bad.failed_guardrails == [CanaryMetric.CONTAINMENT_RATE]
    assert bad.reasons[0] == "guardrail breached: containment_rate"
    verdict = bad.verdict(CanaryMetric.CONTAINMENT_RATE)
    assert verdict is not None and verdict.delta == pytest.approx(20 / 60 - 0.8)
    noisy = analyse(
        metrics("c", 25, 18), metrics("b", 600, 480), template, LOOKS, step_index=1, at="t"
    )
    assert noisy.outcome is AnalysisOutcome.SUCCESSFUL
    small = analyse(
        metrics("c", 5, 0), metrics("b", 600, 480), template, LOOKS, step_index=0, at="t"
    )
    assert small.outcome is AnalysisOutcome.INCONCLUSIVE
    assert "too little data" in small.reasons[1]


def test_soft_checks_count_against_the_failure_limit() -> None:
    aht = MetricCheck(metric=CanaryMetric.AVERAGE_HANDLE_TIME, tolerance=0.1, min_sample=5)
    canary = metrics("c", 50, 40, handle_seconds=SampleSummary(n=50, mean=600, variance=900))
    baseline = metrics("b", 500, 400, handle_seconds=SampleSummary(n=500, mean=300, variance=900))
    strict = analyse(canary, baseline, only(CONTAINMENT, aht), LOOKS, step_index=0, at="t")
    assert strict.outcome is AnalysisOutcome.FAILED and strict.failed_guardrails == []
    assert strict.failed_checks == [CanaryMetric.AVERAGE_HANDLE_TIME]
    lenient = analyse(
        canary, baseline, only(CONTAINMENT, aht, failure_limit=1), LOOKS, step_index=0, at="t"
    )
    assert lenient.outcome is AnalysisOutcome.SUCCESSFUL
    # Shorter handle time is not a regression.
    quick = canary.model_copy(
        update={"handle_seconds": SampleSummary(n=50, mean=100, variance=900)}
    )
    assert analyse(quick, baseline, only(aht), LOOKS, step_index=0, at="t").outcome is (
        AnalysisOutcome.SUCCESSFUL
    )


def test_csat_error_rate_and_cost_directions() -> None:
    csat = MetricCheck(metric=CanaryMetric.CSAT, tolerance=0.05, min_sample=10)
    errors = MetricCheck(metric=CanaryMetric.ERROR_RATE, tolerance=0.01, min_sample=10)
    cost = MetricCheck(metric=CanaryMetric.COST_PER_INTERACTION, tolerance=0.15, min_sample=10)
    canary = metrics(
        "c",
        100,
        80,
        csat=SampleSummary(n=60, mean=3.0, variance=1.0),
        ai_calls=200,
        ai_failures=30,
        cost_usd=SampleSummary(n=100, mean=0.004, variance=1e-6),
    )
    baseline = metrics(
        "b",
        1000,
        800,
        csat=SampleSummary(n=600, mean=4.2, variance=1.0),
        ai_calls=2000,
        ai_failures=20,
        cost_usd=SampleSummary(n=1000, mean=0.002, variance=1e-6),
    )
    result = analyse(
        canary, baseline, only(csat, errors, cost, failure_limit=5), LOOKS, step_index=0, at="t"
    )
    assert set(result.failed_checks) == {
        CanaryMetric.CSAT,
        CanaryMetric.ERROR_RATE,
        CanaryMetric.COST_PER_INTERACTION,
    }
    better = analyse(baseline, canary, only(csat, errors, cost), LOOKS, step_index=0, at="t")
    assert better.outcome is AnalysisOutcome.SUCCESSFUL


def test_escalation_reason_mix_and_latency_p95() -> None:
    reasons = MetricCheck(metric=CanaryMetric.ESCALATION_REASONS, min_sample=10)
    latency = MetricCheck(metric=CanaryMetric.LATENCY_P95, tolerance=0.25, guardrail=True)
    fast = [0] * len(LATENCY_BUCKET_EDGES_MS)
    fast[3] = 500
    slow = [0] * len(LATENCY_BUCKET_EDGES_MS)
    slow[3], slow[12] = 30, 30
    canary = metrics(
        "c", 60, 20, escalations={"ai_requested": 35, "sentiment": 5}, latency_histogram=slow
    )
    baseline = metrics(
        "b",
        500,
        400,
        escalations={"ai_requested": 10, "sentiment": 50, "explicit_request": 40},
        latency_histogram=fast,
    )
    result = analyse(canary, baseline, only(reasons, latency), LOOKS, step_index=0, at="t")
    assert result.failed_guardrails == [CanaryMetric.LATENCY_P95]
    assert CanaryMetric.ESCALATION_REASONS in result.failed_checks
    mix = result.verdict(CanaryMetric.ESCALATION_REASONS)
    assert mix is not None and "ai_requested 88%" in mix.reason
    same = analyse(baseline, baseline, only(reasons, latency), LOOKS, step_index=0, at="t")
    assert same.outcome is AnalysisOutcome.SUCCESSFUL


def test_default_template_is_inconclusive_without_data() -> None:
    empty = analyse(
        metrics("c", 0, 0), metrics("b", 0, 0), AnalysisTemplate(), LOOKS, step_index=0, at="t"
    )
    assert empty.outcome is AnalysisOutcome.INCONCLUSIVE
    assert "containment_rate" in empty.reasons[0] and "error_rate" in empty.reasons[0]


def arm(
    version: str, n: int, contained: int, aht: float = 300.0, csat: float = 4.0
) -> VersionMetrics:
    return VersionMetrics(
        endpoint=version,
        interactions=n,
        contained=contained,
        handle_seconds=SampleSummary(n=n, mean=aht, variance=2500.0),
        csat=SampleSummary(n=n // 2, mean=csat, variance=1.0),
    )


def test_fixed_ab_report_waits_for_the_preregistered_sample_then_names_a_winner() -> None:
    config = ABTestConfig(sample_size_per_arm=400)
    split = {"1": 50.0, "2": 50.0}
    early = ab_report({"1": arm("1", 200, 140), "2": arm("2", 200, 170)}, "1", split, config, "t")
    assert not early.concluded and early.reasons == ["collecting: 200/400 per arm"]
    done = ab_report(
        {"1": arm("1", 400, 280), "2": arm("2", 400, 340, aht=280.0, csat=4.3)},
        "1",
        split,
        config,
        "t",
    )
    assert done.concluded and done.winner == "2"
    lift = done.comparisons[0].containment
    assert lift.difference == pytest.approx(0.15)
    assert lift.ci_low is not None and lift.ci_high is not None
    assert 0 < lift.ci_low < 0.15 < lift.ci_high
    assert lift.relative_lift == pytest.approx(0.85 / 0.70 - 1)
    assert done.comparisons[0].average_handle_time.difference == pytest.approx(-20.0)
    assert done.comparisons[0].csat.significant
    assert done.blended_containment == pytest.approx(0.5 * 0.70 + 0.5 * 0.85)


def test_sequential_ab_stops_early_on_a_clear_difference_only() -> None:
    config = ABTestConfig(
        design=ABDesign.SEQUENTIAL, sample_size_per_arm=1000, min_sample_per_arm=30
    )
    split = {"1": 80.0, "2": 20.0}
    clear = ab_report({"1": arm("1", 400, 320), "2": arm("2", 100, 40)}, "1", split, config, "t")
    assert clear.concluded and clear.winner == "1"
    comparison = clear.comparisons[0]
    assert comparison.sequential_likelihood_ratio is not None
    assert comparison.sequential_likelihood_ratio >= 1 / config.alpha
    assert clear.blended_containment == pytest.approx(0.8 * 0.8 + 0.2 * 0.4)
    unclear = ab_report({"1": arm("1", 400, 320), "2": arm("2", 100, 78)}, "1", split, config, "t")
    assert not unclear.concluded
    too_early = ab_report({"1": arm("1", 100, 80), "2": arm("2", 20, 2)}, "1", split, config, "t")
    assert not too_early.concluded
