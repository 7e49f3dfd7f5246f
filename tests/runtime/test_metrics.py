"""WarmlineMetrics on a fresh registry: each helper moves exactly the series it promises."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from models.facts import InteractionFacts
from models.interaction import Channel, Outcome, Pool
from runtime.metrics import BREAKER_STATE_VALUES, WarmlineMetrics, default_metrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> WarmlineMetrics:
    return WarmlineMetrics(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_every_metric_is_namespaced_and_exposed(registry: CollectorRegistry) -> None:
    WarmlineMetrics(registry)
    names = {family.name for family in registry.collect()}
    assert names, "nothing registered"
    assert all(name.startswith("warmline_") for name in names)
    # Spot-check the families the dashboards depend on most.
    assert {
        "warmline_interactions_started",
        "warmline_interactions_closed",
        "warmline_ai_requests",
        "warmline_ai_latency_seconds",
        "warmline_handle_time_seconds",
        "warmline_breaker_state",
    } <= names


def test_two_instances_on_separate_registries_do_not_collide() -> None:
    WarmlineMetrics(CollectorRegistry())
    WarmlineMetrics(CollectorRegistry())


def test_same_registry_twice_is_rejected(registry: CollectorRegistry) -> None:
    WarmlineMetrics(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        WarmlineMetrics(registry)


def test_default_metrics_is_a_singleton() -> None:
    assert default_metrics() is default_metrics()


def test_interaction_started_and_routing(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    metrics.interaction_started(Channel.CHAT, "pre_acd")
    metrics.interaction_started("chat", "pre_acd")
    metrics.routing_decided("ai", "pre_acd", "billing")
    metrics.escalated("sentiment")

    started = "warmline_interactions_started_total"
    assert value(registry, started, channel="chat", pattern="pre_acd") == 2
    assert (
        value(
            registry,
            "warmline_routing_decisions_total",
            route="ai",
            pattern="pre_acd",
            intent="billing",
        )
        == 1
    )
    assert value(registry, "warmline_escalations_total", trigger="sentiment") == 1


def test_observe_ai_call_counts_latency_tokens_and_cost(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    metrics.observe_ai_call("billing-bot", "v2", "ok", 0.42, 120, 30, 0.0021)
    metrics.observe_ai_call("billing-bot", "v2", "timeout", 10.0)

    ep = {"agent": "billing-bot", "version": "v2"}
    assert value(registry, "warmline_ai_requests_total", **ep, status="ok") == 1
    assert value(registry, "warmline_ai_requests_total", **ep, status="timeout") == 1
    assert value(registry, "warmline_ai_latency_seconds_count", **ep) == 2
    assert value(registry, "warmline_ai_latency_seconds_sum", **ep) == pytest.approx(10.42)
    assert value(registry, "warmline_ai_latency_seconds_bucket", **ep, le="0.5") == 1
    assert value(registry, "warmline_ai_latency_seconds_bucket", **ep, le="10.0") == 2
    assert value(registry, "warmline_ai_tokens_total", **ep, kind="prompt") == 120
    assert value(registry, "warmline_ai_tokens_total", **ep, kind="completion") == 30
    assert value(registry, "warmline_ai_cost_usd_total", **ep) == pytest.approx(0.0021)


def test_ai_latency_buckets_span_50ms_to_10s(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    metrics.observe_ai_call("a", "v1", "ok", 0.3)
    buckets = sorted(
        float(sample.labels["le"])
        for family in registry.collect()
        if family.name == "warmline_ai_latency_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket") and sample.labels["le"] != "+Inf"
    )
    assert buckets[0] == 0.05
    assert buckets[-1] == 10.0
    assert {0.5, 2.0} <= set(buckets), "the voice and chat p95 targets must be bucket edges"


def test_unknown_ai_status_is_counted_as_error_not_raised(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    # Called from the AI activity's ``finally``: raising would hide the call's real exception.
    metrics.observe_ai_call("a", "v1", "exploded", 1.0)
    metrics.observe_ai_call("a", "v1", "rejected", 0.2)
    ep = {"agent": "a", "version": "v1"}
    assert value(registry, "warmline_ai_requests_total", **ep, status="error") == 1
    assert value(registry, "warmline_ai_requests_total", **ep, status="rejected") == 1
    assert value(registry, "warmline_ai_requests_total", **ep, status="exploded") is None


def test_satisfies_the_activity_metrics_protocol(metrics: WarmlineMetrics) -> None:
    """The AI activity depends on a Protocol, not on this module; keep the two compatible."""
    from activities.interaction import Metrics

    sink: Metrics = metrics
    sink.observe_ai_call("a", "v1", "ok", 0.1, 1, 1, 0.0)


def test_in_flight_gauge_returns_to_zero_even_on_error(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    ep = {"agent": "a", "version": "v1"}
    with metrics.ai_call_in_flight("a", "v1"):
        assert value(registry, "warmline_ai_inflight_requests", **ep) == 1
    with pytest.raises(RuntimeError), metrics.ai_call_in_flight("a", "v1"):
        raise RuntimeError("endpoint down")
    assert value(registry, "warmline_ai_inflight_requests", **ep) == 0


def test_breaker_state_maps_names_to_severity(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    for name, number in BREAKER_STATE_VALUES.items():
        metrics.set_breaker_state("a", "v1", name)
        assert value(registry, "warmline_breaker_state", agent="a", version="v1") == number
    with pytest.raises(ValueError, match="unknown breaker state"):
        metrics.set_breaker_state("a", "v1", "melted")


def test_gauges_set_absolute_values(metrics: WarmlineMetrics, registry: CollectorRegistry) -> None:
    metrics.set_human_queue_waiting("billing", 7)
    metrics.set_human_queue_waiting("billing", 3)
    metrics.set_ai_capacity("a", "v1", 50)
    metrics.set_active_interactions("ai_active", 12)
    assert value(registry, "warmline_human_queue_waiting", queue="billing") == 3
    assert value(registry, "warmline_ai_session_capacity", agent="a", version="v1") == 50
    assert value(registry, "warmline_interactions_active", state="ai_active") == 12


def test_classification(metrics: WarmlineMetrics, registry: CollectorRegistry) -> None:
    metrics.observe_classification("billing", 0.65, 0.004)
    metrics.observe_classification("billing", 0.93, 0.006)
    assert value(registry, "warmline_classification_latency_seconds_count") == 2
    confidence = "warmline_classifier_confidence_bucket"
    assert value(registry, confidence, intent="billing", le="0.7") == 1
    assert value(registry, confidence, intent="billing", le="0.95") == 2


def test_contained_interaction(metrics: WarmlineMetrics, registry: CollectorRegistry) -> None:
    metrics.interaction_closed(
        channel="chat",
        pool=Pool.AI_CONTAINED,
        outcome=Outcome.CONTAINED,
        intent="billing",
        ai_seconds=95.0,
        total_seconds=95.0,
        csat=5,
    )
    closed = {"channel": "chat", "pool": "ai_contained", "outcome": "contained"}
    assert value(registry, "warmline_interactions_closed_total", **closed) == 1
    assert value(registry, "warmline_ai_handled_total", channel="chat", intent="billing") == 1
    assert value(registry, "warmline_ai_contained_total", channel="chat", intent="billing") == 1
    handle = "warmline_handle_time_seconds_count"
    assert value(registry, handle, pool="ai_contained", segment="ai") == 1
    assert value(registry, handle, pool="ai_contained", segment="total") == 1
    # Segments the interaction never entered are not observed as zero.
    assert value(registry, handle, pool="ai_contained", segment="human") is None
    assert value(registry, "warmline_csat_score_sum", pool="ai_contained") == 5


def test_human_only_interaction_is_not_in_containment(
    metrics: WarmlineMetrics, registry: CollectorRegistry
) -> None:
    metrics.interaction_closed(
        channel="voice",
        pool="human_only",
        outcome="human_only",
        intent="complaint",
        queue_seconds=40.0,
        human_seconds=300.0,
        total_seconds=340.0,
    )
    assert value(registry, "warmline_ai_handled_total", channel="voice", intent="complaint") is None
    assert (
        value(registry, "warmline_handle_time_seconds_sum", pool="human_only", segment="queue")
        == 40.0
    )
    assert value(registry, "warmline_csat_score_count", pool="human_only") is None


def _facts(**overrides: object) -> InteractionFacts:
    base: dict[str, object] = {
        "interaction_id": "i-1",
        "workflow_id": "interaction-i-1",
        "channel": "chat",
        "initial_channel": "chat",
        "segment": "standard",
        "language": "en",
        "region": "us",
        "intent": "billing",
        "confidence": 0.91,
        "pattern": "parallel",
        "route": "ai",
        "pool": "ai_assisted",
        "outcome": "escalated",
        "classifier_version": "c1",
        "config_version": 3,
        "human_queue": "billing",
        "started_at": "2025-01-01T00:00:00Z",
        "ended_at": "2025-01-01T00:10:00Z",
        "turns": 4,
        "ai_seconds": 120.0,
        "queue_seconds": 30.0,
        "human_seconds": 450.0,
        "total_seconds": 600.0,
        "csat": 4,
    }
    base.update(overrides)
    return InteractionFacts.model_validate(base)


def test_record_interaction_facts(metrics: WarmlineMetrics, registry: CollectorRegistry) -> None:
    metrics.record_interaction_facts(_facts())
    metrics.record_interaction_facts(
        _facts(
            interaction_id="i-2",
            pool="ai_contained",
            outcome="contained",
            human_seconds=0.0,
            queue_seconds=0.0,
            reservation_released=True,
            saved_wait_seconds=90.0,
        )
    )
    assert value(registry, "warmline_ai_handled_total", channel="chat", intent="billing") == 2
    assert value(registry, "warmline_ai_contained_total", channel="chat", intent="billing") == 1
    assert (
        value(registry, "warmline_handle_time_seconds_sum", pool="ai_assisted", segment="human")
        == 450.0
    )
    assert value(registry, "warmline_reservations_released_total", queue="billing") == 1
    assert value(registry, "warmline_saved_wait_seconds_total", queue="billing") == 90.0


def test_exposition_renders(metrics: WarmlineMetrics, registry: CollectorRegistry) -> None:
    metrics.observe_ai_call("a", "v1", "rate_limited", 0.1)
    lines = generate_latest(registry).decode().splitlines()
    (line,) = [x for x in lines if x.startswith("warmline_ai_requests_total{")]
    assert 'status="rate_limited"' in line
    assert line.endswith(" 1.0")
