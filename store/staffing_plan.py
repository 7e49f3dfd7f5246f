"""The WFM staffing plan in the store (schedule sync): one row per queue and interval.

A push replaces the pushed (queue, interval) cells in one transaction, all or nothing; cells
the push does not name are kept, so a WFM platform can send today's re-plan without resending
the week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, Index, Table, delete, tuple_
from sqlmodel import Field, Session, SQLModel, col, select

from models.wfm import PlanApplied, PlannedInterval
from store.db import init_schema as migrate_schema
from store.db import write_engine
from store.tables import UTCDateTime, utc_now
from store.writes import write_with_retry

WFM_STAFFING_PLAN: Final = "wfm_staffing_plan"


class PlanRow(SQLModel, table=True):
    __tablename__ = WFM_STAFFING_PLAN
    __table_args__ = (Index("ix_wfm_staffing_plan_start", "start_epoch"),)

    queue: str = Field(primary_key=True)
    start_epoch: int = Field(primary_key=True, description="UTC interval start, epoch seconds.")
    interval_minutes: int = 15
    planned_agents: int
    planned_volume: float | None = None
    planned_aht_seconds: float | None = None
    source: str = "api"
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


def plan_tables() -> list[Table]:
    return [SQLModel.metadata.tables[WFM_STAFFING_PLAN]]


def _interval(row: PlanRow) -> PlannedInterval:
    return PlannedInterval(
        interval_start=datetime.fromtimestamp(row.start_epoch, UTC),
        queue=row.queue,
        planned_agents=row.planned_agents,
        planned_volume=row.planned_volume,
        planned_aht_seconds=row.planned_aht_seconds,
    )


class PlanStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = write_engine(engine)

    def init_schema(self) -> None:
        """Bring the schema (these tables included) to the newest migration."""
        migrate_schema(self._engine)

    def apply(
        self, rows: Sequence[PlannedInterval], interval_minutes: int, source: str
    ) -> PlanApplied:
        """Replace the named cells; callers validated the plan whole (``check_plan``)."""
        keys = [(r.queue, int(r.interval_start.timestamp())) for r in rows]

        def work(session: Session) -> None:
            for chunk in range(0, len(keys), 500):
                part = keys[chunk : chunk + 500]
                session.exec(
                    delete(PlanRow).where(
                        tuple_(col(PlanRow.queue), col(PlanRow.start_epoch)).in_(part)
                    )
                )
            session.add_all(
                PlanRow(
                    queue=r.queue,
                    start_epoch=int(r.interval_start.timestamp()),
                    interval_minutes=interval_minutes,
                    planned_agents=r.planned_agents,
                    planned_volume=r.planned_volume,
                    planned_aht_seconds=r.planned_aht_seconds,
                    source=source,
                )
                for r in rows
            )

        write_with_retry(self._writer, work)
        starts = sorted(r.interval_start.astimezone(UTC) for r in rows)
        return PlanApplied(
            rows=len(rows),
            queues=sorted({r.queue for r in rows}),
            first_interval=starts[0],
            last_interval=starts[-1],
        )

    def between(
        self, start: datetime, end: datetime, queue: str | None = None
    ) -> list[PlannedInterval]:
        query = select(PlanRow).where(
            col(PlanRow.start_epoch) >= int(start.timestamp()),
            col(PlanRow.start_epoch) < int(end.timestamp()),
        )
        if queue is not None:
            query = query.where(col(PlanRow.queue) == queue)
        with Session(self._engine) as session:
            rows = session.exec(query.order_by(col(PlanRow.start_epoch), col(PlanRow.queue)))
            return [_interval(row) for row in rows.all()]
