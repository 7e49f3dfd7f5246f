"""The numbers a demo (or a WFM lead) asks first: volume per pool, containment, handle times.

Everything runs in SQL, percentiles included: each segment's samples are ranked with a window
function and the nearest-rank sample is picked by its row number (SQLite has no percentile
function, and PostgreSQL's interpolating ones would disagree with any emulation), so both
backends report identical numbers for identical facts, and no fact row reaches Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Engine, case, func, literal, union_all
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


def _samples(where: list[ColumnElement[bool]]) -> Any:
    """(pool, segment, seconds) of every sample: ``DemoSummary.handle_times`` says which count."""
    parts = [
        sa_select(
            col(F.pool).label("pool"), literal("ai").label("seg"), col(F.ai_seconds).label("v")
        ).where(*where, col(F.pool).in_(sorted(AI_POOLS))),
        sa_select(col(F.pool), literal("queue"), col(F.queue_seconds)).where(
            *where, col(F.queue_seconds) > 0
        ),
        sa_select(col(F.pool), literal("human"), col(F.human_seconds)).where(
            *where, col(F.human_seconds) > 0
        ),
        sa_select(col(F.pool), literal("total"), col(F.total_seconds)).where(*where),
    ]
    return union_all(*parts).subquery("samples")


def _percentile_rows(session: Session, where: list[ColumnElement[bool]], by_pool: bool) -> Any:
    """The nearest-rank samples of every segment (per pool, or over all pools) and the counts."""
    samples = _samples(where)
    keys = [samples.c.pool, samples.c.seg] if by_pool else [samples.c.seg]
    ranked = sa_select(
        *keys,
        samples.c.v,
        func.row_number().over(partition_by=keys, order_by=samples.c.v).label("rn"),
        func.count().over(partition_by=keys).label("n"),
    ).subquery("ranked")
    rank = {p: (p * ranked.c.n + 99) // 100 for p in PERCENTILES}  # ceil, in integers
    picked = sa_select(
        *(ranked.c.pool,) if by_pool else (),
        ranked.c.seg,
        ranked.c.n,
        *(func.max(case((ranked.c.rn == r, ranked.c.v))).label(f"p{p}") for p, r in rank.items()),
    ).group_by(*((ranked.c.pool,) if by_pool else ()), ranked.c.seg, ranked.c.n)
    return session.connection().execute(picked).all()


def _times(count: int, values: Sequence[float | None]) -> HandleTimes:
    p50, p90, p95 = (None if v is None else float(v) for v in values)
    return HandleTimes(count=int(count), p50=p50, p90=p90, p95=p95)


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
        overall = _percentile_rows(session, where, by_pool=False)
        per_pool = _percentile_rows(session, where, by_pool=True)
        by_outcome = counts(F.outcome)
        by_channel = counts(F.channel)
        escalation_reasons = counts(F.escalation_trigger, col(F.escalation_trigger).is_not(None))

    handle = {segment: HandleTimes() for segment in SEGMENTS}
    for seg, n, *values in overall:
        handle[str(seg)] = _times(n, values)
    handle_by_pool = {pool: {segment: HandleTimes() for segment in SEGMENTS} for pool in by_pool}
    for pool, seg, n, *values in per_pool:
        handle_by_pool.setdefault(str(pool), {s: HandleTimes() for s in SEGMENTS})[str(seg)] = (
            _times(n, values)
        )
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
        handle_times=handle,
        handle_times_by_pool=handle_by_pool,
        reservations_released=int(released or 0),
        saved_wait_seconds=round(float(saved_wait or 0.0), _DIGITS),
        cost_usd=round(float(cost or 0.0), _DIGITS),
        csat_by_pool={pool: csat_means.get(pool) for pool in by_pool},
    )
