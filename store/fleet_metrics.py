"""Per-version metrics of a canary or A/B analysis, aggregated by the database.

Why SQL and not the facts: a rollout's poll covers every interaction since the rollout began,
and reading all of them into the worker every minute grows with traffic (100 000 facts a day
is a small contact center). Grouped by version, the database returns a few rows whatever the
volume, through the ``(ai_endpoint, started_at_utc)`` index.

The numbers are ``warmline.fleet_metrics.version_metrics``'s, computed the same way on SQLite
and PostgreSQL: counts and sums; means and sample variances in two passes (the means first,
then the squared deviations from them, which cannot cancel catastrophically as sums of squares
can); escalation triggers grouped; and the latency histogram's buckets found with a ``CASE``
over the fixed bucket edges, so p95 comes from a bounded histogram without any percentile
function (SQLite has none). Floating-point sums may differ from the Python ones in the last
bits; the tests hold them to 1e-9 relative and the analyses built on them to equality.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.fleet_analysis import LATENCY_BUCKET_EDGES_MS, SampleSummary, VersionMetrics
from models.interaction import Outcome
from store.tables import InteractionFactRow

F = InteractionFactRow


def _window(
    endpoints: Sequence[str], since: datetime, until: datetime | None
) -> list[ColumnElement[bool]]:
    conditions = [
        col(F.ai_endpoint).in_(list(endpoints)),
        col(F.started_at_utc) >= since,
    ]
    if until is not None:
        conditions.append(col(F.started_at_utc) < until)
    return conditions


def _summary(n: int, mean: float | None, squares: float | None) -> SampleSummary:
    if not n:
        return SampleSummary()
    variance = float(squares or 0.0) / (n - 1) if n > 1 else 0.0
    return SampleSummary(n=n, mean=float(mean or 0.0), variance=max(0.0, variance))


def _latency_bucket() -> ColumnElement[Any]:
    """The histogram bucket of an interaction's mean AI latency (``latency_bucket`` in SQL)."""
    latency = cast(col(F.ai_latency_ms_total), Float) / col(F.ai_calls)
    edges = list(enumerate(LATENCY_BUCKET_EDGES_MS))[1:]
    return case(*[(latency >= edge, index) for index, edge in reversed(edges)], else_=0)


def version_metrics(
    session: Session,
    endpoints: Sequence[str],
    since: datetime,
    until: datetime | None = None,
) -> dict[str, VersionMetrics]:
    """``VersionMetrics`` of each of ``endpoints`` over facts started in ``[since, until)``."""
    window = _window(endpoints, since, until)
    csat = cast(col(F.csat), Float)
    means = (
        select(
            col(F.ai_endpoint).label("endpoint"),
            func.avg(col(F.total_seconds)).label("handle"),
            func.avg(col(F.cost_usd)).label("cost"),
            func.avg(csat).label("csat"),
        )
        .where(*window)
        .group_by(col(F.ai_endpoint))
        .subquery()
    )
    handle = col(F.total_seconds) - means.c.handle
    cost = col(F.cost_usd) - means.c.cost
    rated = csat - means.c.csat  # NULL for unrated interactions: SUM and COUNT skip them
    # Twelve columns: beyond sqlmodel's typed select(), so through the Core connection.
    totals = (
        session.connection()
        .execute(
            sa_select(
                col(F.ai_endpoint),
                func.count(),
                func.sum(case((col(F.outcome) == Outcome.CONTAINED.value, 1), else_=0)),
                func.sum(col(F.ai_calls)),
                func.sum(col(F.ai_failures)),
                func.max(means.c.handle),
                func.sum(handle * handle),
                func.max(means.c.cost),
                func.sum(cost * cost),
                func.count(col(F.csat)),
                func.max(means.c.csat),
                func.sum(rated * rated),
            )
            .join(means, means.c.endpoint == col(F.ai_endpoint))
            .where(*window)
            .group_by(col(F.ai_endpoint))
        )
        .all()
    )
    escalations: dict[str, dict[str, int]] = {}
    for endpoint, trigger, count in session.exec(
        select(col(F.ai_endpoint), col(F.escalation_trigger), func.count())
        .where(
            *window,
            col(F.outcome) != Outcome.CONTAINED.value,
            col(F.escalation_trigger).is_not(None),
            col(F.escalation_trigger) != "",
        )
        .group_by(col(F.ai_endpoint), col(F.escalation_trigger))
    ).all():
        escalations.setdefault(str(endpoint), {})[str(trigger)] = int(count)
    # Grouped over a subquery: PostgreSQL cannot match a CASE with bound edges in GROUP BY.
    buckets = (
        select(col(F.ai_endpoint).label("endpoint"), _latency_bucket().label("bucket"))
        .where(*window, col(F.ai_calls) > 0)
        .subquery()
    )
    histograms = {key: [0] * len(LATENCY_BUCKET_EDGES_MS) for key in endpoints}
    for endpoint, index, count in session.exec(
        select(buckets.c.endpoint, buckets.c.bucket, func.count()).group_by(
            buckets.c.endpoint, buckets.c.bucket
        )
    ).all():
        histograms[str(endpoint)][int(index)] = int(count)
    found = {
        str(row[0]): VersionMetrics(
            endpoint=str(row[0]),
            interactions=int(row[1]),
            contained=int(row[2] or 0),
            escalations=dict(sorted(escalations.get(str(row[0]), {}).items())),
            handle_seconds=_summary(int(row[1]), row[5], row[6]),
            csat=_summary(int(row[9]), row[10], row[11]),
            cost_usd=_summary(int(row[1]), row[7], row[8]),
            ai_calls=int(row[3] or 0),
            ai_failures=int(row[4] or 0),
            latency_histogram=histograms[str(row[0])],
        )
        for row in totals
    }
    return {key: found.get(key) or VersionMetrics(endpoint=key) for key in endpoints}


def counts_by_endpoint(
    session: Session,
    endpoints: Sequence[str],
    since: datetime,
    until: datetime | None = None,
) -> dict[str, int]:
    """Interactions per endpoint started in ``[since, until)`` (a step's sample sizes)."""
    rows = session.exec(
        select(col(F.ai_endpoint), func.count())
        .where(*_window(endpoints, since, until))
        .group_by(col(F.ai_endpoint))
    ).all()
    counted = {str(endpoint): int(count) for endpoint, count in rows}
    return {key: counted.get(key, 0) for key in endpoints}
