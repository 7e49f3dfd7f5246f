"""WFM view: volume decomposition per interval, human volume impact, handle times, queues.

Audience: WFM analysts and real-time managers. Volume panels bucket by the ``$interval``
variable (15 min, 30 min, 1 h: the usual planning intervals) so each bar is one interval's
count, comparable with the WFM platform's own forecast.
"""

from __future__ import annotations

from typing import Final

from dashboards.builder import (
    JSON,
    FieldStyle,
    Panel,
    Step,
    Target,
    bar_gauge,
    dashboard,
    interval_variable,
    query_variable,
    row,
    stat,
    timeseries,
)
from dashboards.promql import (
    COUNT,
    HUMAN_POOLS_RE,
    PERCENT,
    SECONDS,
    increase,
    percentiles,
    ratio,
    share_of_total,
    sum_by,
)

WFM_UID: Final = "warmline-wfm"
WFM_INTERVALS: Final = ("15m", "30m", "1h")


def _containment(window: str) -> str:
    return ratio(
        sum_by((), increase("warmline_ai_contained_total", window=window)),
        sum_by((), increase("warmline_ai_handled_total", window=window)),
    )


def wfm() -> JSON:
    """Volume decomposition, human impact, handle times and queues (WFM and real-time managers)."""
    closed = "warmline_interactions_closed_total"
    pool = 'pool=~"$pool"'
    per_interval = "$interval"
    handle = "warmline_handle_time_seconds"
    panels: list[Panel] = [
        row("Volume decomposition"),
        timeseries(
            "Closed volume by pool per interval",
            [Target(sum_by(("pool",), increase(closed, pool, window=per_interval)), "{{pool}}")],
            description="AI-contained, AI-assisted, human-only: three separate forecast streams.",
            style=COUNT,
            bars=True,
            stack=True,
            min_interval=per_interval,
            width=16,
        ),
        bar_gauge(
            "Volume share by pool (selected range)",
            [
                Target(
                    share_of_total(
                        sum_by(("pool",), increase(closed, pool, window="$__range")),
                        sum_by((), increase(closed, pool, window="$__range")),
                        "pool",
                    ),
                    "{{pool}}",
                    instant=True,
                )
            ],
            style=PERCENT,
        ),
        timeseries(
            "Arrivals by channel per interval",
            [
                Target(
                    sum_by(
                        ("channel",),
                        increase("warmline_interactions_started_total", window=per_interval),
                    ),
                    "{{channel}}",
                )
            ],
            style=COUNT,
            bars=True,
            stack=True,
            min_interval=per_interval,
        ),
        timeseries(
            "Routing mix per interval",
            [
                Target(
                    sum_by(
                        ("route",),
                        increase("warmline_routing_decisions_total", window=per_interval),
                    ),
                    "{{route}}",
                )
            ],
            style=COUNT,
            bars=True,
            stack=True,
            min_interval=per_interval,
        ),
        row("Containment trend"),
        timeseries(
            "AI containment: 5-minute rolling and hourly",
            [
                Target(_containment("5m"), "5-minute rolling"),
                Target(_containment("1h"), "hourly"),
            ],
            description="Real-time (5 min) for routing and breakers, hourly for intraday WFM; a "
            "drop precedes more human-bound volume (alert rule: warmline-containment-drop).",
            style=PERCENT,
            width=12,
        ),
        *(
            stat(
                f"AI containment, {label}",
                [Target(_containment(window), label, instant=True)],
                description=f"Over the last {label}: {use}.",
                style=FieldStyle(unit="percentunit", decimals=1),
                width=4,
            )
            for window, label, use in (
                ("1d", "day", "short-term forecast input"),
                ("7d", "week", "planning cycle input"),
                ("30d", "month", "long-term planning input"),
            )
        ),
        row("Human volume impact"),
        timeseries(
            "Human-bound volume per interval",
            [
                Target(
                    sum_by(
                        (),
                        increase(
                            "warmline_escalations_total",
                            'trigger!="routed_to_human"',
                            window=per_interval,
                        ),
                    ),
                    "escalated from AI",
                ),
                Target(
                    sum_by(
                        (),
                        increase(
                            "warmline_routing_decisions_total", 'route="human"', window=per_interval
                        ),
                    ),
                    "routed straight to humans",
                ),
                Target(
                    sum_by(
                        (),
                        increase(
                            "warmline_escalations_total",
                            'trigger="ai_unavailable"',
                            window=per_interval,
                        ),
                    ),
                    "spillover: AI unavailable",
                ),
            ],
            description="Demand the AI adds to human queues; spillover rises as breakers open.",
            style=COUNT,
            bars=True,
            min_interval=per_interval,
            width=12,
        ),
        timeseries(
            "Human queue waiting",
            [Target("max by (queue) (warmline_human_queue_waiting)", "{{queue}}")],
            style=COUNT,
            stack=True,
            width=12,
        ),
        stat(
            "Human share of closed volume (1 h)",
            [
                Target(
                    ratio(
                        sum_by((), increase(closed, HUMAN_POOLS_RE, window="1h")),
                        sum_by((), increase(closed, window="1h")),
                    ),
                    "human",
                )
            ],
            style=FieldStyle(unit="percentunit", decimals=1),
            width=8,
        ),
        stat(
            "AI endpoints open (unavailable)",
            [
                Target(
                    "count(max by (agent, version) (warmline_breaker_state) == 2) or vector(0)",
                    "open",
                )
            ],
            description="Capacity signal: each open endpoint moves its share of volume to humans.",
            style=FieldStyle(unit="short", decimals=0, steps=(Step("green"), Step("red", 1))),
            width=8,
        ),
        stat(
            "AI endpoints degraded",
            [
                Target(
                    "count(max by (agent, version) (warmline_breaker_state) == 1) or vector(0)",
                    "degraded",
                )
            ],
            style=FieldStyle(unit="short", decimals=0, steps=(Step("green"), Step("orange", 1))),
            width=8,
        ),
        row("Handle time"),
        timeseries(
            "Handle time p50 / p90 by segment",
            percentiles(
                handle, ("segment",), "{{segment}}", pool, window=per_interval, qs=(0.5, 0.9)
            ),
            description="Segments: ai, queue (waiting for a human), human, total.",
            style=SECONDS,
            min_interval=per_interval,
        ),
        timeseries(
            "Average handle time by pool",
            [
                Target(
                    ratio(
                        sum_by(
                            ("pool",),
                            increase(f"{handle}_sum", 'segment="total"', pool, window=per_interval),
                        ),
                        sum_by(
                            ("pool",),
                            increase(
                                f"{handle}_count", 'segment="total"', pool, window=per_interval
                            ),
                        ),
                    ),
                    "{{pool}}",
                )
            ],
            description="Escalated (AI-assisted) interactions run longer than human-only ones.",
            style=SECONDS,
            min_interval=per_interval,
        ),
        row("Reservations released"),
        timeseries(
            "Released reservations per interval",
            [
                Target(
                    sum_by(
                        ("queue",),
                        increase("warmline_reservations_released_total", window=per_interval),
                    ),
                    "{{queue}}",
                )
            ],
            description="Human slots handed back because the AI resolved the interaction.",
            style=COUNT,
            bars=True,
            stack=True,
            min_interval=per_interval,
            width=10,
        ),
        timeseries(
            "Customer wait saved per interval",
            [
                Target(
                    sum_by((), increase("warmline_saved_wait_seconds_total", window=per_interval)),
                    "saved wait",
                )
            ],
            style=SECONDS,
            bars=True,
            min_interval=per_interval,
            width=8,
        ),
        stat(
            "Customer wait saved (selected range)",
            [
                Target(
                    sum_by((), increase("warmline_saved_wait_seconds_total", window="$__range")),
                    "saved",
                    instant=True,
                )
            ],
            style=FieldStyle(unit="s", decimals=0),
            width=6,
            height=8,
        ),
    ]
    return dashboard(
        WFM_UID,
        "Warmline / WFM",
        panels,
        description="Volume by pool per interval, human impact, handle times, queues, reservations",
        tags=("wfm",),
        variables=[
            interval_variable("interval", WFM_INTERVALS, "15m"),
            query_variable("pool", "Pool", f"label_values({closed}, pool)"),
        ],
        refresh="1m",
        time_from="now-24h",
    )
