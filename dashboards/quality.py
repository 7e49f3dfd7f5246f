"""Quality view: containment, escalations and their reasons, CSAT by pool, cost per interaction.

Audience: contact-centre operations and quality management. Containment is shown at the
reference's granularities (5-minute rolling for real-time, hourly, daily) because a falling
5-minute line is the earliest warning of model drift.
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
    row,
    stat,
    timeseries,
)
from dashboards.promql import (
    AI_POOLS_RE,
    COUNT,
    PERCENT,
    RATE_WINDOW,
    REALTIME_WINDOW,
    USD,
    difference,
    increase,
    quantile,
    rate,
    ratio,
    sum_by,
)

QUALITY_UID: Final = "warmline-quality"

# The reference puts typical containment at 70-95 % depending on intent.
CONTAINMENT: Final = FieldStyle(
    unit="percentunit",
    min=0,
    max=1,
    decimals=1,
    steps=(Step("red"), Step("orange", 0.7), Step("green", 0.85)),
)


def _containment(window: str, *by: str) -> str:
    return ratio(
        sum_by(by, increase("warmline_ai_contained_total", window=window)),
        sum_by(by, increase("warmline_ai_handled_total", window=window)),
    )


def _escalation_rate(window: str) -> str:
    closed = "warmline_interactions_closed_total"
    return ratio(
        sum_by((), increase(closed, 'pool="ai_assisted"', window=window)),
        sum_by((), increase(closed, AI_POOLS_RE, window=window)),
    )


def _csat_mean(pool_matcher: str, window: str, *by: str) -> str:
    return ratio(
        sum_by(by, increase("warmline_csat_score_sum", pool_matcher, window=window)),
        sum_by(by, increase("warmline_csat_score_count", pool_matcher, window=window)),
    )


def quality() -> JSON:
    """Containment, escalations, CSAT and cost (contact-centre operations and quality)."""
    closed = "warmline_interactions_closed_total"
    escalations = "warmline_escalations_total"
    panels: list[Panel] = [
        row("Containment"),
        stat(
            "Containment rate (5 min)",
            [Target(_containment(REALTIME_WINDOW), "contained")],
            description="Share of AI-handled interactions resolved without a human.",
            style=CONTAINMENT,
        ),
        stat(
            "Containment rate (1 h)",
            [Target(_containment("1h"), "contained")],
            style=CONTAINMENT,
        ),
        stat(
            "Containment rate (24 h)",
            [Target(_containment("1d"), "contained")],
            style=CONTAINMENT,
        ),
        stat(
            "Escalation rate (1 h)",
            [Target(_escalation_rate("1h"), "escalated")],
            description="Share of AI-handled interactions a human had to take over. Target < 30 %.",
            style=FieldStyle(
                unit="percentunit", decimals=1, steps=(Step("green"), Step("red", 0.3))
            ),
        ),
        timeseries(
            "Containment rate trend",
            [
                Target(_containment(REALTIME_WINDOW), "5 min rolling"),
                Target(_containment("1h"), "1 h rolling"),
            ],
            description="A drop of several points within 30 min is an early warning of drift.",
            style=PERCENT,
            width=16,
        ),
        bar_gauge(
            "Containment by intent (1 h)",
            [Target(_containment("1h", "intent"), "{{intent}}", instant=True)],
            style=CONTAINMENT,
        ),
        row("Escalations"),
        timeseries(
            "Escalation rate trend",
            [
                Target(_escalation_rate(REALTIME_WINDOW), "5 min rolling"),
                Target(_escalation_rate("1h"), "1 h rolling"),
            ],
            style=PERCENT,
            width=8,
        ),
        timeseries(
            "Escalations per minute by reason",
            [Target(f"{sum_by(('trigger',), rate(escalations))} * 60", "{{trigger}}")],
            style=FieldStyle(unit="short", min=0),
            stack=True,
            width=8,
        ),
        bar_gauge(
            "Escalation reasons (selected range)",
            [
                Target(
                    sum_by(("trigger",), increase(escalations, window="$__range")),
                    "{{trigger}}",
                    instant=True,
                )
            ],
            style=COUNT,
        ),
        row("Customer satisfaction and cost"),
        timeseries(
            "Average CSAT by pool (1 h)",
            [Target(_csat_mean("", "1h", "pool"), "{{pool}}")],
            style=FieldStyle(unit="short", min=1, max=5, decimals=2),
            width=10,
        ),
        stat(
            "CSAT delta: AI-contained minus human-only (24 h)",
            [
                Target(
                    difference(
                        _csat_mean('pool="ai_contained"', "1d"),
                        _csat_mean('pool="human_only"', "1d"),
                    ),
                    "delta",
                )
            ],
            description="On the 1..5 scale; 0.2 is five points on a 100-point scale.",
            style=FieldStyle(unit="short", decimals=2, steps=(Step("red"), Step("green", -0.2))),
            width=6,
            height=8,
        ),
        timeseries(
            "AI cost per interaction (1 h)",
            [
                Target(
                    ratio(
                        sum_by((), increase("warmline_ai_cost_usd_total", window="1h")),
                        sum_by((), increase("warmline_ai_handled_total", window="1h")),
                    ),
                    "per AI-handled interaction",
                ),
                Target(
                    ratio(
                        sum_by((), increase("warmline_ai_cost_usd_total", window="1h")),
                        sum_by((), increase("warmline_ai_contained_total", window="1h")),
                    ),
                    "per contained interaction",
                ),
            ],
            style=USD,
            width=8,
        ),
        row("Routing and classification"),
        timeseries(
            "Routing decisions by route",
            [Target(sum_by(("route",), rate("warmline_routing_decisions_total")), "{{route}}")],
            style=FieldStyle(unit="reqps", min=0),
            stack=True,
            width=8,
        ),
        bar_gauge(
            "Top intents routed straight to humans (selected range)",
            [
                Target(
                    "topk(10, "
                    + sum_by(
                        ("intent",),
                        increase(
                            "warmline_routing_decisions_total", 'route="human"', window="$__range"
                        ),
                    )
                    + ")",
                    "{{intent}}",
                    instant=True,
                )
            ],
            style=COUNT,
        ),
        timeseries(
            "Classifier confidence p50 by intent",
            [
                Target(
                    quantile(
                        0.5, "warmline_classifier_confidence", ("intent",), window=RATE_WINDOW
                    ),
                    "{{intent}}",
                )
            ],
            style=PERCENT,
            width=8,
        ),
        timeseries(
            "Volume closed by outcome",
            [Target(sum_by(("outcome",), rate(closed)), "{{outcome}}")],
            style=FieldStyle(unit="reqps", min=0),
            stack=True,
            width=16,
        ),
        stat(
            "Low-confidence share (< 0.7, 1 h)",
            [
                Target(
                    ratio(
                        sum_by(
                            (),
                            increase(
                                "warmline_classifier_confidence_bucket", 'le="0.7"', window="1h"
                            ),
                        ),
                        sum_by((), increase("warmline_classifier_confidence_count", window="1h")),
                    ),
                    "low confidence",
                )
            ],
            description="Rising share suggests new intents the classifier was not trained on.",
            style=FieldStyle(
                unit="percentunit", decimals=1, steps=(Step("green"), Step("orange", 0.2))
            ),
            width=8,
            height=8,
        ),
        row("Abuse limits"),
        timeseries(
            "Limit hits per minute by rule and answer",
            [
                Target(
                    f"{sum_by(('rule', 'answer'), rate('warmline_abuse_limit_hits_total'))} * 60",
                    "{{rule}} {{answer}}",
                )
            ],
            description="Starts and turns throttled, queued or refused (runtime/abuse_gate.py).",
            style=FieldStyle(unit="short", min=0),
            stack=True,
            width=12,
        ),
        timeseries(
            "AI reply findings per hour by agent and kind",
            [
                Target(
                    sum_by(("agent", "version", "kind"), rate("warmline_reply_violations_total"))
                    + " * 3600",
                    "{{agent}} {{version}} {{kind}}",
                )
            ],
            description="AI replies the safety policy's output check caught (commitments, "
            "amounts, prompt or tool echo): a version that starts over-promising shows here.",
            style=FieldStyle(unit="short", min=0),
            stack=True,
            width=12,
        ),
    ]
    return dashboard(
        QUALITY_UID,
        "Warmline / Quality",
        panels,
        description="Containment, escalations and reasons, CSAT by pool, cost per interaction.",
        tags=("quality",),
        refresh="1m",
        time_from="now-24h",
    )
