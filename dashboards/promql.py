"""PromQL building blocks and field styles shared by the three Warmline dashboards.

Expressions are assembled from small functions rather than typed out, so that a selector or a
``histogram_quantile`` is written the same way everywhere and the tests can parse every metric
name and label back out of the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from dashboards.builder import FieldStyle, Target, ValueMapping

RATE_WINDOW: Final = "$__rate_interval"
# The reference's real-time granularity: circuit breakers and routing act on 5-minute windows.
REALTIME_WINDOW: Final = "5m"

AI_POOLS_RE: Final = 'pool=~"ai_contained|ai_assisted"'
HUMAN_POOLS_RE: Final = 'pool=~"ai_assisted|human_only"'

# -- PromQL helpers ---------------------------------------------------------------------------


def sel(metric: str, *matchers: str) -> str:
    """``metric{a="b", ...}``; empty matchers are skipped so optional filters compose."""
    present = [m for m in matchers if m]
    return f"{metric}{{{', '.join(present)}}}" if present else metric


def rate(metric: str, *matchers: str, window: str = RATE_WINDOW) -> str:
    return f"rate({sel(metric, *matchers)}[{window}])"


def increase(metric: str, *matchers: str, window: str) -> str:
    return f"increase({sel(metric, *matchers)}[{window}])"


def sum_by(labels: Sequence[str], inner: str) -> str:
    return f"sum by ({', '.join(labels)}) ({inner})" if labels else f"sum({inner})"


def quantile(q: float, histogram: str, by: Sequence[str], *matchers: str, window: str) -> str:
    """``histogram_quantile`` over the ``_bucket`` series of ``histogram``, kept per ``by``."""
    buckets = rate(f"{histogram}_bucket", *matchers, window=window)
    return f"histogram_quantile({q}, {sum_by([*by, 'le'], buckets)})"


def ratio(numerator: str, denominator: str) -> str:
    return f"(\n  {numerator}\n/\n  {denominator}\n)"


def difference(left: str, right: str) -> str:
    return f"{left}\n-\n{right}"


def share_of_total(per_label: str, total: str, label: str) -> str:
    """Each series of ``per_label`` divided by the one-series ``total`` (many-to-one match)."""
    return f"{per_label}\n/ ignoring({label}) group_left\n{total}"


def percentiles(
    histogram: str,
    by: Sequence[str],
    legend: str,
    *matchers: str,
    window: str = RATE_WINDOW,
    qs: Sequence[float] = (0.5, 0.95, 0.99),
) -> list[Target]:
    return [
        Target(
            quantile(q, histogram, by, *matchers, window=window),
            f"{legend} p{round(q * 100)}".strip(),
        )
        for q in qs
    ]


# -- shared styles ----------------------------------------------------------------------------

PERCENT: Final = FieldStyle(unit="percentunit", min=0, max=1, decimals=1)
SECONDS: Final = FieldStyle(unit="s", min=0)
USD: Final = FieldStyle(unit="currencyUSD", min=0, decimals=3)
COUNT: Final = FieldStyle(unit="short", min=0, decimals=0)

BREAKER_MAPPINGS: Final = (
    ValueMapping(0, "Closed", "green"),
    ValueMapping(1, "Degraded", "yellow"),
    ValueMapping(2, "Open", "red"),
    ValueMapping(3, "Half-open", "orange"),
)
