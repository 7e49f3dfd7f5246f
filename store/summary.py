"""The numbers a demo (or a WFM lead) asks first: volume per pool, containment, handle times.

Counts and sums run in SQL; percentiles are computed here by nearest rank, because SQLite has no
percentile function and PostgreSQL's interpolating ones would disagree with any emulation. Both
backends therefore report identical numbers for identical facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Engine, case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.interaction import Pool, Route
from store.repository import Store
from store.tables import InteractionFactRow, parse_utc

PERCENTILES = (50, 90, 95)
SEGMENTS = ("ai", "queue", "human", "total")
AI_POOLS = frozenset({Pool.AI_CONTAINED.value, Pool.AI_ASSISTED.value})
AI_ROUTES = (Route.AI.value, Route.AI_MONITORED.value)
_DIGITS = 6  # float sums differ in the last bits between backends; rounding makes them agree

F = InteractionFactRow


class HandleTimes(BaseModel):
    """Nearest-rank percentiles (seconds) of one segment; None when there is no sample."""

    count: int = 0
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None


class DemoSummary(BaseModel):
    total: int
    by_pool: dict[str, int] = Field(description="Every pool, zero included.")
    by_outcome: dict[str, int]
    by_channel: dict[str, int] = Field(description="By final channel.")
    ai_routed: int = Field(description="Interactions first routed to AI (ai or ai_monitored).")
    ai_contained: int = Field(description="Of those, resolved by AI alone.")
    containment_rate: float | None = Field(description="ai_contained / ai_routed; None if 0.")
    escalation_reasons: dict[str, int]
    handle_times: dict[str, HandleTimes] = Field(
        description="Per segment: ai (AI-handled pools), queue and human (where > 0), total."
    )
    handle_times_by_pool: dict[str, dict[str, HandleTimes]]
    reservations_released: int
    saved_wait_seconds: float
    cost_usd: float
    csat_by_pool: dict[str, float | None] = Field(description="Mean CSAT of rated interactions.")


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The smallest value with at least ``percent``% of the sample at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, (percent * len(ordered) + 99) // 100)  # ceil without float error
    return ordered[rank - 1]


def handle_times(values: Sequence[float]) -> HandleTimes:
    p50, p90, p95 = (nearest_rank(values, p) for p in PERCENTILES)
    return HandleTimes(count=len(values), p50=p50, p90=p90, p95=p95)


def _segment_samples(rows: Sequence[Any]) -> dict[str, list[float]]:
    """Which seconds count for each segment (see ``DemoSummary.handle_times``)."""
    samples: dict[str, list[float]] = {segment: [] for segment in SEGMENTS}
    for pool, ai, queue, human, total in rows:
        if pool in AI_POOLS:
            samples["ai"].append(ai)
        if queue > 0:
            samples["queue"].append(queue)
        if human > 0:
            samples["human"].append(human)
        samples["total"].append(total)
    return samples


def _filters(since: str | None, interaction_prefix: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since:
        conditions.append(col(F.started_at_utc) >= parse_utc(since))
    if interaction_prefix:
        # autoescape: ids may contain "_", a LIKE wildcard.
        conditions.append(col(F.interaction_id).startswith(interaction_prefix, autoescape=True))
    return conditions


def summarize(
    store_or_engine: Store | Engine,
    since: str | None = None,
    interaction_prefix: str | None = None,
) -> DemoSummary:
    """Summarise the facts started at or after ``since`` whose id starts with the prefix."""
    engine = store_or_engine.engine if isinstance(store_or_engine, Store) else store_or_engine
    where = _filters(since, interaction_prefix)
    with Session(engine) as session:

        def counts(column: Any, *extra: ColumnElement[bool]) -> dict[str, int]:
            query = select(column, func.count()).where(*where, *extra).group_by(column)
            return {str(key): int(n) for key, n in session.exec(query).all()}

        by_pool = {pool.value: 0 for pool in Pool} | counts(F.pool)
        total, released, saved_wait, cost = session.exec(
            select(
                func.count(),
                func.sum(case((col(F.reservation_released).is_(True), 1), else_=0)),
                func.sum(F.saved_wait_seconds),
                func.sum(F.cost_usd),
            ).where(*where)
        ).one()
        ai_routed, ai_contained = session.exec(
            select(
                func.count(),
                func.sum(case((col(F.pool) == Pool.AI_CONTAINED.value, 1), else_=0)),
            ).where(*where, col(F.route).in_(AI_ROUTES))
        ).one()
        csat = session.exec(
            select(F.pool, func.avg(F.csat))
            .where(*where, col(F.csat).is_not(None))
            .group_by(F.pool)
        ).all()
        # Five columns: beyond sqlmodel's typed select(), so through the Core connection.
        samples = sa_select(
            col(F.pool),
            col(F.ai_seconds),
            col(F.queue_seconds),
            col(F.human_seconds),
            col(F.total_seconds),
        )
        rows = session.connection().execute(samples.where(*where)).all()
        by_outcome = counts(F.outcome)
        by_channel = counts(F.channel)
        escalation_reasons = counts(F.escalation_trigger, col(F.escalation_trigger).is_not(None))

    per_pool: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        per_pool[row[0]].append(row)
    csat_means = {str(pool): round(float(mean), _DIGITS) for pool, mean in csat}
    ai_contained = int(ai_contained or 0)
    return DemoSummary(
        total=int(total),
        by_pool=by_pool,
        by_outcome=by_outcome,
        by_channel=by_channel,
        ai_routed=int(ai_routed),
        ai_contained=ai_contained,
        containment_rate=round(ai_contained / ai_routed, _DIGITS) if ai_routed else None,
        escalation_reasons=escalation_reasons,
        handle_times={
            segment: handle_times(values) for segment, values in _segment_samples(rows).items()
        },
        handle_times_by_pool={
            pool: {
                segment: handle_times(values)
                for segment, values in _segment_samples(per_pool[pool]).items()
            }
            for pool in by_pool
        },
        reservations_released=int(released or 0),
        saved_wait_seconds=round(float(saved_wait or 0.0), _DIGITS),
        cost_usd=round(float(cost or 0.0), _DIGITS),
        csat_by_pool={pool: csat_means.get(pool) for pool in by_pool},
    )
