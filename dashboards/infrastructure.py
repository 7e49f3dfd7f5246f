"""Infrastructure view: latency, throughput, errors and capacity of every AI agent endpoint.

Audience: platform engineering and DevOps. Endpoints are identified by ``agent`` and
``version`` so a canary and its baseline sit side by side on every panel.
"""

from __future__ import annotations

from typing import Final

from dashboards.builder import (
    JSON,
    FieldStyle,
    Panel,
    Step,
    Target,
    dashboard,
    gauge,
    query_variable,
    row,
    stat,
    timeseries,
)
from dashboards.promql import (
    BREAKER_MAPPINGS,
    COUNT,
    REALTIME_WINDOW,
    SECONDS,
    percentiles,
    quantile,
    rate,
    ratio,
    sel,
    share_of_total,
    sum_by,
)

INFRA_UID: Final = "warmline-infra"


def infrastructure() -> JSON:
    """Latency, throughput, errors and capacity of every AI endpoint (platform / DevOps)."""
    agent = 'agent=~"$agent"'
    requests = "warmline_ai_requests_total"
    cost = "warmline_ai_cost_usd_total"
    panels: list[Panel] = [
        row("AI endpoint latency"),
        timeseries(
            "AI latency p50 / p95 / p99 by endpoint",
            percentiles(
                "warmline_ai_latency_seconds", ("agent", "version"), "{{agent}} {{version}}", agent
            ),
            description="Threshold lines: voice p95 target 500 ms, chat p95 target 2 s.",
            style=FieldStyle(
                unit="s", min=0, steps=(Step("green"), Step("orange", 0.5), Step("red", 2.0))
            ),
            threshold_lines=True,
            width=16,
        ),
        stat(
            "Fleet p95 latency (5 min)",
            [
                Target(
                    quantile(
                        0.95, "warmline_ai_latency_seconds", (), agent, window=REALTIME_WINDOW
                    ),
                    "p95",
                )
            ],
            style=FieldStyle(
                unit="s", decimals=2, steps=(Step("green"), Step("orange", 0.5), Step("red", 2.0))
            ),
            width=8,
            height=8,
        ),
        row("Throughput and errors"),
        timeseries(
            "AI requests per second by endpoint",
            [Target(sum_by(("agent", "version"), rate(requests, agent)), "{{agent}} {{version}}")],
            style=FieldStyle(unit="reqps", min=0),
            stack=True,
        ),
        timeseries(
            "Error rate by status",
            [
                Target(
                    share_of_total(
                        sum_by(("status",), rate(requests, agent, 'status!="ok"')),
                        sum_by((), rate(requests, agent)),
                        "status",
                    ),
                    "{{status}}",
                )
            ],
            description="Share of all AI calls failing, split by failure kind. Target < 0.5 %.",
            style=FieldStyle(
                unit="percentunit", min=0, decimals=2, steps=(Step("green"), Step("red", 0.005))
            ),
            stack=True,
            threshold_lines=True,
        ),
        timeseries(
            "Error rate by endpoint",
            [
                Target(
                    ratio(
                        sum_by(("agent", "version"), rate(requests, agent, 'status!="ok"')),
                        sum_by(("agent", "version"), rate(requests, agent)),
                    ),
                    "{{agent}} {{version}}",
                )
            ],
            description="Compare versions side by side during a canary.",
            style=FieldStyle(unit="percentunit", min=0, decimals=2),
            width=12,
        ),
        stat(
            "Error rate (5 min)",
            [
                Target(
                    ratio(
                        sum_by((), rate(requests, agent, 'status!="ok"', window=REALTIME_WINDOW)),
                        sum_by((), rate(requests, agent, window=REALTIME_WINDOW)),
                    ),
                    "errors",
                )
            ],
            style=FieldStyle(
                unit="percentunit", decimals=2, steps=(Step("green"), Step("red", 0.005))
            ),
            width=4,
            height=8,
        ),
        stat(
            "AI spend per hour",
            [Target(f"{sum_by((), rate(cost, agent))} * 3600", "USD/h")],
            style=FieldStyle(unit="currencyUSD", decimals=2),
            width=8,
            height=8,
        ),
        timeseries(
            "Tokens per second by endpoint",
            [
                Target(
                    sum_by(("agent", "version", "kind"), rate("warmline_ai_tokens_total", agent)),
                    "{{agent}} {{version}} {{kind}}",
                )
            ],
            style=FieldStyle(unit="short", min=0),
        ),
        timeseries(
            "AI spend per hour by endpoint",
            [
                Target(
                    f"{sum_by(('agent', 'version'), rate(cost, agent))} * 3600",
                    "{{agent}} {{version}}",
                )
            ],
            style=FieldStyle(unit="currencyUSD", min=0, decimals=2),
            stack=True,
        ),
        row("Capacity and circuit breakers"),
        stat(
            "Circuit breaker state",
            [
                Target(
                    f"max by (agent, version) ({sel('warmline_breaker_state', agent)})",
                    "{{agent}} {{version}}",
                    instant=True,
                )
            ],
            description="Worst state any worker reports. Open means traffic is shed to humans.",
            style=FieldStyle(mappings=BREAKER_MAPPINGS),
            width=12,
            height=6,
        ),
        timeseries(
            "Circuit breaker state over time",
            [
                Target(
                    f"max by (agent, version) ({sel('warmline_breaker_state', agent)})",
                    "{{agent}} {{version}}",
                )
            ],
            style=FieldStyle(min=0, max=3, decimals=0, mappings=BREAKER_MAPPINGS),
            step_line=True,
            height=6,
        ),
        timeseries(
            "Concurrent AI sessions by endpoint",
            [
                Target(
                    sum_by(("agent", "version"), sel("warmline_ai_inflight_requests", agent)),
                    "{{agent}} {{version}}",
                )
            ],
            description="Calls in progress, summed over all worker replicas.",
            style=COUNT,
            stack=True,
        ),
        gauge(
            "Session utilization",
            [
                Target(
                    ratio(
                        sum_by(("agent", "version"), sel("warmline_ai_inflight_requests", agent)),
                        f"max by (agent, version) ({sel('warmline_ai_session_capacity', agent)})",
                    ),
                    "{{agent}} {{version}}",
                )
            ],
            description="Active sessions over provisioned capacity; sustained > 80 % needs more.",
            style=FieldStyle(
                unit="percentunit",
                min=0,
                max=1,
                steps=(Step("green"), Step("orange", 0.7), Step("red", 0.8)),
            ),
            width=12,
            height=8,
        ),
        timeseries(
            "Open interactions by state",
            [Target("max by (state) (warmline_interactions_active)", "{{state}}")],
            style=COUNT,
            stack=True,
        ),
        timeseries(
            "Intent classification latency",
            percentiles("warmline_classification_latency_seconds", (), ""),
            style=SECONDS,
        ),
    ]
    return dashboard(
        INFRA_UID,
        "Warmline / Infrastructure",
        panels,
        description="AI fleet health: latency, throughput, errors, breakers and capacity.",
        tags=("infrastructure",),
        variables=[
            query_variable("agent", "AI agent", "label_values(warmline_ai_requests_total, agent)"),
        ],
        refresh="30s",
        time_from="now-3h",
    )
