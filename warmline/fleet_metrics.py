"""Per-version metrics from interaction facts: the numbers canary and A/B analyses compare.

Pure: facts in, bounded summaries out (counts, means and variances, a fixed latency
histogram), so an observation recorded in workflow history has the same size at 10 or at
100 000 interactions, and two production versions merge into one baseline exactly.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from models.facts import InteractionFacts
from models.fleet_analysis import LATENCY_BUCKET_EDGES_MS, SampleSummary, VersionMetrics
from warmline.fleet_stats import Summary, merge_summaries, summarize

CONTAINED_OUTCOME = "contained"


def _summary(values: Iterable[float]) -> SampleSummary:
    result = summarize(values)
    return SampleSummary(n=result.n, mean=result.mean, variance=result.variance)


def as_summary(summary: SampleSummary) -> Summary:
    return Summary(n=summary.n, mean=summary.mean, variance=summary.variance)


def containment_counts(metrics: VersionMetrics) -> tuple[int, int]:
    """(contained, interactions): the proportion canary and A/B tests compare first."""
    return metrics.contained, metrics.interactions


def error_counts(metrics: VersionMetrics) -> tuple[int, int]:
    """(failed AI calls, AI calls)."""
    return metrics.ai_failures, metrics.ai_calls


def rate(counts: tuple[int, int]) -> float | None:
    part, whole = counts
    return part / whole if whole else None


def latency_bucket(latency_ms: float) -> int:
    """Index of the histogram bucket whose lower edge is the largest one <= ``latency_ms``."""
    return max(0, bisect.bisect_right(LATENCY_BUCKET_EDGES_MS, latency_ms) - 1)


def version_metrics(endpoint: str, facts: Sequence[InteractionFacts]) -> VersionMetrics:
    """Summarise the facts of interactions routed to ``endpoint`` (``name:version``).

    Containment is the reference's: resolved without a human, among interactions the version
    was given. Latency is each interaction's mean AI latency, so a long conversation counts
    once, like a short one.
    """
    mine = [f for f in facts if f.ai_endpoint == endpoint]
    escalations: dict[str, int] = {}
    histogram = [0] * len(LATENCY_BUCKET_EDGES_MS)
    for fact in mine:
        if fact.outcome != CONTAINED_OUTCOME and fact.escalation_trigger:
            escalations[fact.escalation_trigger] = escalations.get(fact.escalation_trigger, 0) + 1
        if fact.ai_calls > 0:
            histogram[latency_bucket(fact.ai_latency_ms_total / fact.ai_calls)] += 1
    return VersionMetrics(
        endpoint=endpoint,
        interactions=len(mine),
        contained=sum(f.outcome == CONTAINED_OUTCOME for f in mine),
        escalations=dict(sorted(escalations.items())),
        handle_seconds=_summary(f.total_seconds for f in mine),
        csat=_summary(float(f.csat) for f in mine if f.csat is not None),
        cost_usd=_summary(f.cost_usd for f in mine),
        ai_calls=sum(f.ai_calls for f in mine),
        ai_failures=sum(f.ai_failures for f in mine),
        latency_histogram=histogram,
    )


def _merge(parts: Sequence[SampleSummary]) -> SampleSummary:
    merged = merge_summaries([as_summary(part) for part in parts])
    return SampleSummary(n=merged.n, mean=merged.mean, variance=merged.variance)


def merge_metrics(parts: Sequence[VersionMetrics]) -> VersionMetrics:
    """One baseline from several versions (e.g. two production versions sharing traffic)."""
    escalations: dict[str, int] = {}
    for part in parts:
        for reason, count in part.escalations.items():
            escalations[reason] = escalations.get(reason, 0) + count
    histogram = [0] * len(LATENCY_BUCKET_EDGES_MS)
    for part in parts:
        for index, count in enumerate(part.latency_histogram):
            histogram[index] += count
    return VersionMetrics(
        endpoint="+".join(part.endpoint for part in parts),
        interactions=sum(part.interactions for part in parts),
        contained=sum(part.contained for part in parts),
        escalations=dict(sorted(escalations.items())),
        handle_seconds=_merge([part.handle_seconds for part in parts]),
        csat=_merge([part.csat for part in parts]),
        cost_usd=_merge([part.cost_usd for part in parts]),
        ai_calls=sum(part.ai_calls for part in parts),
        ai_failures=sum(part.ai_failures for part in parts),
        latency_histogram=histogram,
    )
