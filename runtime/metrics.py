"""Prometheus metrics that every Warmline process exposes.

One ``WarmlineMetrics`` object owns every metric, created against one ``CollectorRegistry``.
Production uses the process-wide default (``default_metrics()``); tests build their own object
on a fresh registry so counts never leak between tests.

Where each number is recorded matters more than usual here, because workflow code is replayed:
a counter bumped inside a workflow would count again on every replay. So metrics are recorded
only from activities, the worker process and the API, each at the point where the fact is final:

| recorded by                        | helper                                          |
|------------------------------------|-------------------------------------------------|
| start / routing activity           | ``interaction_started``, ``routing_decided``    |
| classifier (local activity)        | ``observe_classification``                      |
| AI invocation activity             | ``ai_call_in_flight``, ``observe_ai_call``      |
| warm transfer activity             | ``escalated``                                   |
| record-facts activity (at close)   | ``record_interaction_facts``                    |
| fleet / ACD snapshot readers       | ``set_breaker_state``, ``set_ai_capacity``,     |
|                                    | ``set_human_queue_waiting``                     |
| API (Temporal visibility counts)   | ``set_active_interactions``                     |
| abuse gate (``runtime.abuse_gate``) | ``abuse_limit_hit``                            |
| AI client (each call)              | ``ai_call_in_flight``                           |
| ACD client (transfer accepted,     | ``escalated``, ``set_human_queue_waiting``      |
| capacity read)                     |                                                 |
| health sync (breakers, routing)    | ``set_breaker_state``, ``set_ai_capacity``      |
| WFM worker (visibility counts)     | ``set_active_interactions``                     |

Rates (containment, escalation, error rate, cost per interaction) are never pre-computed in the
process: they are ratios of counters in PromQL, so they aggregate correctly across any number of
worker replicas and any time window. Label values are kept to bounded sets (channel, pool, intent,
agent/version, queue); interaction ids never become labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, Final, Literal, get_args
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    make_asgi_app,
    start_http_server,
)

from models.facts import InteractionFacts
from models.interaction import Pool

NAMESPACE: Final = "warmline"
DEFAULT_METRICS_PORT: Final = 9464

# The AI client's error kinds: ``rejected`` is a 4xx refusal (not retried), ``error`` the
# catch-all. Anything else is recorded as ``error`` rather than raised, because this runs in
# the ``finally`` of the AI activity and must never replace the call's real exception.
AIStatus = Literal[
    "ok",
    "timeout",
    "rate_limited",
    "server_error",
    "bad_response",
    "connect_error",
    "rejected",
    "error",
]
AI_STATUSES: Final[frozenset[str]] = frozenset(get_args(AIStatus))

HandleSegment = Literal["ai", "queue", "human", "total"]

BreakerStateName = Literal["closed", "degraded", "open", "half_open"]
# Ordered by severity so ``max by (agent)`` across workers shows the most pessimistic view.
BREAKER_STATE_VALUES: Final[dict[str, int]] = {
    "closed": 0,
    "degraded": 1,
    "open": 2,
    "half_open": 3,
}

# fmt: off
# Chat SLOs sit around p95 < 2 s and voice around p95 < 500 ms, so buckets are dense between
# 100 ms and 3 s and stop at the 10 s activity timeout.
AI_LATENCY_BUCKETS: Final = (
    0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0,
)
# In-process model inference: sub-millisecond to a few hundred milliseconds.
CLASSIFICATION_LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)
# Routing thresholds live between 0.5 and 0.95; the dashboards read the 0.7 bucket directly.
CONFIDENCE_BUCKETS: Final = (
    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0,
)
# From a 10-second AI answer to a two-hour human case; WFM reads percentiles per segment.
HANDLE_TIME_BUCKETS: Final = (
    10, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200,
)
# fmt: on
# CSAT is an integer 1..5; one bucket per score makes ``_sum / _count`` the exact mean.
CSAT_BUCKETS: Final = (1, 2, 3, 4, 5)

# Pools in which an AI agent took part: the denominator of containment.
AI_POOLS: Final[frozenset[str]] = frozenset({Pool.AI_CONTAINED.value, Pool.AI_ASSISTED.value})


class WarmlineMetrics:
    """Every Warmline metric, registered on one registry.

    Pass ``registry=None`` to build unregistered metrics (e.g. for a process that must not expose
    anything); pass a fresh ``CollectorRegistry()`` in tests.
    """

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.registry = registry

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, namespace=NAMESPACE, registry=registry)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, namespace=NAMESPACE, registry=registry)

        def histogram(
            name: str, doc: str, buckets: Sequence[float], labels: tuple[str, ...] = ()
        ) -> Histogram:
            return Histogram(
                name, doc, labels, namespace=NAMESPACE, registry=registry, buckets=buckets
            )

        # -- interaction lifecycle ---------------------------------------------------------
        self.interactions_started = counter(
            "interactions_started_total",
            "Interactions accepted by the orchestrator (arrivals, for WFM volume).",
            ("channel", "pattern"),
        )
        self.interactions_closed = counter(
            "interactions_closed_total",
            "Interactions closed, by final pool and outcome (the volume decomposition).",
            ("channel", "pool", "outcome"),
        )
        self.routing_decisions = counter(
            "routing_decisions_total",
            "Routing decisions by destination, orchestration pattern and intent.",
            ("route", "pattern", "intent"),
        )
        self.escalations = counter(
            "escalations_total",
            "AI-to-human escalations (warm transfers) by trigger.",
            ("trigger",),
        )
        self.ai_handled = counter(
            "ai_handled_total",
            "Closed interactions an AI agent took part in (containment denominator).",
            ("channel", "intent"),
        )
        self.ai_contained = counter(
            "ai_contained_total",
            "Closed interactions the AI resolved without a human (containment numerator).",
            ("channel", "intent"),
        )
        self.handle_time = histogram(
            "handle_time_seconds",
            "Handle time per interaction segment (ai, queue, human, total) and final pool.",
            HANDLE_TIME_BUCKETS,
            ("pool", "segment"),
        )
        self.csat = histogram(
            "csat_score",
            "Customer satisfaction score (1..5) by final pool.",
            CSAT_BUCKETS,
            ("pool",),
        )
        self.interactions_active = gauge(
            "interactions_active",
            "Open interactions by lifecycle state, counted from Temporal visibility.",
            ("state",),
        )

        # -- AI fleet ----------------------------------------------------------------------
        self.ai_requests = counter(
            "ai_requests_total",
            "Calls to AI agent endpoints by result.",
            ("agent", "version", "status"),
        )
        self.ai_latency = histogram(
            "ai_latency_seconds",
            "Wall-clock time of one AI agent call, failures included.",
            AI_LATENCY_BUCKETS,
            ("agent", "version"),
        )
        self.ai_tokens = counter(
            "ai_tokens_total",
            "Tokens consumed by AI agent calls, by kind (prompt, completion).",
            ("agent", "version", "kind"),
        )
        self.ai_cost_usd = counter(
            "ai_cost_usd_total",
            "Spend on AI agent calls in US dollars.",
            ("agent", "version"),
        )
        self.ai_inflight = gauge(
            "ai_inflight_requests",
            "AI agent calls in progress in this process (concurrent sessions).",
            ("agent", "version"),
        )
        self.ai_session_capacity = gauge(
            "ai_session_capacity",
            "Concurrent sessions an AI endpoint is provisioned for (utilization denominator).",
            ("agent", "version"),
        )
        self.breaker_state = gauge(
            "breaker_state",
            "Circuit breaker state per endpoint: 0 closed, 1 degraded, 2 open, 3 half-open.",
            ("agent", "version"),
        )

        # -- classification ----------------------------------------------------------------
        self.classification_latency = histogram(
            "classification_latency_seconds",
            "Time to classify one customer message (in-process model).",
            CLASSIFICATION_LATENCY_BUCKETS,
        )
        self.classifier_confidence = histogram(
            "classifier_confidence",
            "Confidence of the predicted intent.",
            CONFIDENCE_BUCKETS,
            ("intent",),
        )

        # -- human side / WFM --------------------------------------------------------------
        self.human_queue_waiting = gauge(
            "human_queue_waiting",
            "Interactions waiting in a human queue, as last reported by the ACD.",
            ("queue",),
        )
        self.reservations_released = counter(
            "reservations_released_total",
            "Human-queue reservations released because the AI resolved the interaction.",
            ("queue",),
        )
        self.saved_wait_seconds = counter(
            "saved_wait_seconds_total",
            "Customer wait avoided by releasing reservations (estimated queue wait).",
            ("queue",),
        )

        # -- customer-facing safety -----------------------------------------------------------
        self.abuse_limit_hits = counter(
            "abuse_limit_hits_total",
            "Starts and turns not admitted as they came, by limit rule, stage and answer.",
            ("rule", "stage", "answer"),
        )
        self.reply_violations = counter(
            "reply_violations_total",
            "AI reply findings of the safety policy's output check, by agent version, finding "
            "and the policy's action (counted in the call, before the customer sees anything).",
            ("agent", "version", "kind", "action"),
        )

    # -- lifecycle helpers ---------------------------------------------------------------------

    def interaction_started(self, channel: str, pattern: str) -> None:
        self.interactions_started.labels(channel=channel, pattern=pattern).inc()

    def routing_decided(self, route: str, pattern: str, intent: str) -> None:
        self.routing_decisions.labels(route=route, pattern=pattern, intent=intent).inc()

    def escalated(self, trigger: str) -> None:
        """Count at transfer time, not at close, so real-time human demand sees it at once."""
        self.escalations.labels(trigger=trigger).inc()

    def interaction_closed(
        self,
        *,
        channel: str,
        pool: str,
        outcome: str,
        intent: str,
        ai_seconds: float = 0.0,
        queue_seconds: float = 0.0,
        human_seconds: float = 0.0,
        total_seconds: float = 0.0,
        csat: int | None = None,
    ) -> None:
        """Volume, containment, handle times and CSAT of one closed interaction.

        A segment the interaction never went through (``0`` seconds) is not observed: a
        human-only call must not drag the AI handle-time percentiles towards zero.
        """
        pool = str(pool)  # a Pool member or its plain value
        self.interactions_closed.labels(channel=channel, pool=pool, outcome=outcome).inc()
        if pool in AI_POOLS:
            self.ai_handled.labels(channel=channel, intent=intent).inc()
            if pool == Pool.AI_CONTAINED.value:
                self.ai_contained.labels(channel=channel, intent=intent).inc()
        segments: tuple[tuple[HandleSegment, float], ...] = (
            ("ai", ai_seconds),
            ("queue", queue_seconds),
            ("human", human_seconds),
        )
        for segment, seconds in segments:
            if seconds > 0:
                self.handle_time.labels(pool=pool, segment=segment).observe(seconds)
        self.handle_time.labels(pool=pool, segment="total").observe(max(total_seconds, 0.0))
        if csat is not None:
            self.csat.labels(pool=pool).observe(csat)

    def reservation_released(self, queue: str, saved_wait_seconds: float) -> None:
        """Both series exist from the first release on (a 0 s saving adds 0, but the panel
        has a series to draw)."""
        self.reservations_released.labels(queue=queue).inc()
        self.saved_wait_seconds.labels(queue=queue).inc(max(0.0, saved_wait_seconds))

    def record_interaction_facts(self, facts: InteractionFacts) -> None:
        """Everything known at close, from the one row analytics stores.

        Call it once, after the facts are durably written, so an activity retry that failed
        before the write does not count twice.
        """
        self.interaction_closed(
            channel=facts.channel,
            pool=facts.pool,
            outcome=facts.outcome,
            intent=facts.intent,
            ai_seconds=facts.ai_seconds,
            queue_seconds=facts.queue_seconds,
            human_seconds=facts.human_seconds,
            total_seconds=facts.total_seconds,
            csat=facts.csat,
        )
        if facts.reservation_released:
            self.reservation_released(facts.human_queue or "unknown", facts.saved_wait_seconds)

    def set_active_interactions(self, state: str, count: int) -> None:
        self.interactions_active.labels(state=state).set(count)

    # -- AI fleet helpers ----------------------------------------------------------------------

    def observe_ai_call(
        self,
        agent: str,
        version: str,
        status: AIStatus | str,
        seconds: float,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: float = 0.0,
    ) -> None:
        """One AI agent call. Failed calls are timed too: a timeout is latency the customer had.

        ``cost`` is in US dollars. An unknown ``status`` is counted as ``error`` so label values
        stay a fixed, small set.
        """
        status = status if status in AI_STATUSES else "error"
        self.ai_requests.labels(agent=agent, version=version, status=status).inc()
        self.ai_latency.labels(agent=agent, version=version).observe(max(seconds, 0.0))
        if prompt_tokens > 0:
            self.ai_tokens.labels(agent=agent, version=version, kind="prompt").inc(prompt_tokens)
        if completion_tokens > 0:
            self.ai_tokens.labels(agent=agent, version=version, kind="completion").inc(
                completion_tokens
            )
        if cost > 0:
            self.ai_cost_usd.labels(agent=agent, version=version).inc(cost)

    @contextmanager
    def ai_call_in_flight(self, agent: str, version: str) -> Iterator[None]:
        """Hold the in-flight gauge up for the duration of one call, even if it raises."""
        inflight = self.ai_inflight.labels(agent=agent, version=version)
        inflight.inc()
        try:
            yield
        finally:
            inflight.dec()

    def set_ai_capacity(self, agent: str, version: str, sessions: int) -> None:
        self.ai_session_capacity.labels(agent=agent, version=version).set(sessions)

    def set_breaker_state(self, agent: str, version: str, state: BreakerStateName | str) -> None:
        """Accepts the state's name (a ``StrEnum`` member works) so callers never map numbers."""
        try:
            value = BREAKER_STATE_VALUES[str(state)]
        except KeyError:
            raise ValueError(
                f"unknown breaker state {state!r}; expected one of {sorted(BREAKER_STATE_VALUES)}"
            ) from None
        self.breaker_state.labels(agent=agent, version=version).set(value)

    # -- classification / human side -----------------------------------------------------------

    def observe_classification(self, intent: str, confidence: float, seconds: float) -> None:
        self.classification_latency.observe(max(seconds, 0.0))
        self.classifier_confidence.labels(intent=intent).observe(confidence)

    def set_human_queue_waiting(self, queue: str, waiting: int) -> None:
        self.human_queue_waiting.labels(queue=queue).set(waiting)

    # -- safety helpers ------------------------------------------------------------------------

    def abuse_limit_hit(self, rule: str, stage: str, answer: str) -> None:
        self.abuse_limit_hits.labels(rule, stage, answer).inc()

    def reply_violation(self, agent: str, version: str, kind: str, action: str) -> None:
        self.reply_violations.labels(agent, version, kind, action).inc()


@cache
def default_metrics() -> WarmlineMetrics:
    """The process-wide metrics on the global registry, created once.

    Creating a second ``WarmlineMetrics`` on the same registry would fail with duplicated
    time series, so production code always goes through here.
    """
    return WarmlineMetrics(REGISTRY)


def start_metrics_server(
    port: int = DEFAULT_METRICS_PORT,
    addr: str = "0.0.0.0",
    registry: CollectorRegistry = REGISTRY,
) -> WSGIServer:
    """Serve ``/metrics`` from a daemon thread (workers have no HTTP server of their own).

    Returns the server so graceful shutdown can call ``shutdown()`` after the worker drains,
    letting Prometheus scrape the final counts.
    """
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server


def metrics_asgi_app(registry: CollectorRegistry = REGISTRY) -> Callable[..., Any]:
    """An ASGI app to mount at ``/metrics`` in the API's Starlette application."""
    return make_asgi_app(registry=registry)
