"""What the WFM polling API reads: totals, containment trends and human actuals, in SQL.

Hourly and longer trends sum the interval rows (``store.intervals``), so a month costs a few
thousand rows, not a month of facts; the 5-minute trend reads the facts of the range by their
closing time (indexed), which the API bounds to two days. Weeks start on Monday (ISO), months
are calendar months, all in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, bindparam, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from store.intervals import AI_POOLS, IntervalRow, epoch_sql
from store.tables import UTCDateTime
from warmline.staffing_plan import Actual

HUMAN_POOLS: Final = ("ai_assisted", "human_only")
GRANULARITIES: Final = ("5m", "hour", "day", "week", "month")
_MONDAY_OFFSET: Final = 4 * 86400
"""The epoch began on a Thursday: weeks from Monday are offset by four days."""


@dataclass(frozen=True)
class Totals:
    offered: int
    handled: int
    human_bound: int
    ai_interactions: int
    contained: int
    handed_off: int = 0
    """AI interactions handed from one AI agent to another (topic shifts)."""


@dataclass(frozen=True)
class TrendRow:
    period_start: datetime
    ai_interactions: int
    contained: int


def _period(dialect: str, granularity: str, column: str) -> str:
    if granularity == "hour":
        return f"({column} / 3600) * 3600"
    if granularity == "day":
        return f"({column} / 86400) * 86400"
    if granularity == "week":
        return f"(({column} - {_MONDAY_OFFSET}) / 604800) * 604800 + {_MONDAY_OFFSET}"
    if granularity == "month":
        if dialect == "sqlite":
            return f"CAST(strftime('%s', {column}, 'unixepoch', 'start of month') AS INTEGER)"
        return (
            f"CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp({column}) "
            "AT TIME ZONE 'UTC')) AS BIGINT)"
        )
    raise ValueError(f"unknown granularity {granularity!r}")


class WfmViews:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def totals(self, minutes: int, start: datetime, end: datetime) -> Totals:
        r = IntervalRow
        in_range = (
            col(r.interval_minutes) == minutes,
            col(r.start_epoch) >= int(start.timestamp()),
            col(r.start_epoch) < int(end.timestamp()),
        )
        with Session(self._engine) as session:
            offered, handled = session.exec(
                select(
                    func.coalesce(func.sum(r.offered), 0), func.coalesce(func.sum(r.handled), 0)
                ).where(*in_range)
            ).one()
            human = session.exec(
                select(func.coalesce(func.sum(r.offered), 0)).where(
                    *in_range, col(r.pool).in_(HUMAN_POOLS)
                )
            ).one()
            ai, contained, handed_off = session.exec(
                select(
                    func.coalesce(func.sum(r.offered), 0),
                    func.coalesce(func.sum(r.contained), 0),
                    func.coalesce(func.sum(r.handed_off), 0),
                ).where(*in_range, col(r.pool).in_(AI_POOLS))
            ).one()
        return Totals(
            int(offered), int(handled), int(human), int(ai), int(contained), int(handed_off)
        )

    def containment_trend(
        self, minutes: int, granularity: str, start: datetime, end: datetime
    ) -> list[TrendRow]:
        dialect = self._engine.dialect.name
        if granularity == "5m":
            recorded = epoch_sql(dialect, "recorded_at_utc")
            sql = text(
                f"SELECT ({recorded} / 300) * 300 AS p, COUNT(*), "
                "SUM(CASE WHEN pool = 'ai_contained' THEN 1 ELSE 0 END) "
                "FROM interaction_facts WHERE recorded_at_utc >= :lo AND recorded_at_utc < :hi "
                "AND pool IN ('ai_contained', 'ai_assisted') GROUP BY 1 ORDER BY 1"
            ).bindparams(bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime()))
            params: dict[str, object] = {"lo": start, "hi": end}
        else:
            period = _period(dialect, granularity, "start_epoch")
            sql = text(
                f"SELECT {period} AS p, SUM(offered), SUM(contained) FROM wfm_intervals "
                "WHERE interval_minutes = :m AND start_epoch >= :lo AND start_epoch < :hi "
                "AND pool IN ('ai_contained', 'ai_assisted') GROUP BY 1 ORDER BY 1"
            )
            params = {"m": minutes, "lo": int(start.timestamp()), "hi": int(end.timestamp())}
        with Session(self._engine) as session:
            rows = session.connection().execute(sql, params).all()
        return [
            TrendRow(datetime.fromtimestamp(int(p), UTC), int(n or 0), int(c or 0))
            for p, n, c in rows
        ]

    def human_actuals(
        self, minutes: int, start: datetime, end: datetime, queue: str | None = None
    ) -> list[Actual]:
        """Human-bound volume and human handle time per interval and queue."""
        r = IntervalRow
        query = (
            sa_select(  # five columns: beyond sqlmodel's typed select()
                col(r.start_epoch),
                col(r.queue),
                func.sum(r.offered),
                func.sum(r.human_sum),
                func.sum(r.human_count),
            )
            .where(
                col(r.interval_minutes) == minutes,
                col(r.start_epoch) >= int(start.timestamp()),
                col(r.start_epoch) < int(end.timestamp()),
                col(r.pool).in_(HUMAN_POOLS),
            )
            .group_by(col(r.start_epoch), col(r.queue))
            .order_by(col(r.start_epoch), col(r.queue))
        )
        if queue is not None:
            query = query.where(col(r.queue) == queue)
        with Session(self._engine) as session:
            rows = session.connection().execute(query).all()
        return [
            Actual(
                datetime.fromtimestamp(int(epoch), UTC),
                str(q),
                int(n or 0),
                float(seconds or 0.0),
                int(samples or 0),
            )
            for epoch, q, n, seconds, samples in rows
        ]
