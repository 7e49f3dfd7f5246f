"""WFM intervals in the store: interaction facts rolled into fixed UTC intervals, in SQL.

One row per interval x queue x channel x intent x pool with volumes (offered, handled,
abandoned, deflected, callbacks, contained, escalated, handed off between AI agents), handle
time per segment (sample count, sum, p50, p90), CSAT and cost. The database does all of it, on
SQLite and PostgreSQL alike: one ``INSERT ... SELECT`` per range groups the facts, builds a fixed
handle-time histogram per group and segment, and interpolates the percentiles with window
functions (``warmline.intervals.histogram_percentile`` is the same arithmetic in Python, and the
tests hold the two to each other). No fact row ever travels to Python.

Idempotent and re-runnable: a rollup recomputes whole intervals (delete, then insert, in one
transaction). Which intervals: those holding a fact recorded since the last run's watermark,
less an overlap (``overlap_seconds``) that covers facts committed a little after the time they
were stamped with (worker clocks, a long transaction). A fact that arrives hours late still
lands in its own arrival interval, which is recomputed on the next run. Facts are counted in the
interval their interaction started (arrival), as ACD interval reports count offered contacts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine, Index, Table, bindparam, text
from sqlmodel import Field, Session, SQLModel, col, delete, func, select

from models.wfm import IntervalRecord, SegmentTimes
from store.db import init_schema as migrate_schema
from store.db import write_engine
from store.tables import InteractionFactRow, UTCDateTime, utc_now
from store.writes import write_with_retry
from warmline.intervals import HANDLE_TIME_EDGES, SEGMENTS, bucket_width, covering_ranges

WFM_INTERVALS: Final = "wfm_intervals"
WFM_ROLLUP_STATE: Final = "wfm_rollup_state"
DEFAULT_OVERLAP_SECONDS: Final = 300.0
HANDLED_OUTCOMES: Final = ("contained", "escalated", "human_only")
AI_POOLS: Final = ("ai_contained", "ai_assisted")
NOT_DEMAND_OUTCOMES: Final = ("throttled", "refused")
"""Interactions an abuse limit stopped (a flood, a scripted repeat): no queue was offered them,
so they stay out of the volumes WFM staffs by (the facts and the abuse metrics keep them)."""


class IntervalRow(SQLModel, table=True):
    """One interval of one queue x channel x intent x pool."""

    __tablename__ = WFM_INTERVALS
    __table_args__ = (Index("ix_wfm_intervals_minutes_start", "interval_minutes", "start_epoch"),)

    interval_minutes: int = Field(primary_key=True)
    start_epoch: int = Field(primary_key=True, description="UTC interval start, epoch seconds.")
    queue: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    intent: str = Field(primary_key=True)
    pool: str = Field(primary_key=True)
    offered: int = 0
    handled: int = 0
    abandoned: int = 0
    deflected: int = 0
    callbacks: int = 0
    contained: int = 0
    escalated: int = 0
    handed_off: int = 0
    handoffs: int = 0
    ai_count: int = 0
    ai_sum: float = 0.0
    ai_p50: float | None = None
    ai_p90: float | None = None
    queue_count: int = 0
    queue_sum: float = 0.0
    queue_p50: float | None = None
    queue_p90: float | None = None
    human_count: int = 0
    human_sum: float = 0.0
    human_p50: float | None = None
    human_p90: float | None = None
    after_transfer_count: int = 0
    after_transfer_sum: float = 0.0
    after_transfer_p50: float | None = None
    after_transfer_p90: float | None = None
    csat_sum: int = 0
    csat_count: int = 0
    cost_usd: float = 0.0


class RollupStateRow(SQLModel, table=True):
    """How far the rollup of one interval length has read the facts."""

    __tablename__ = WFM_ROLLUP_STATE

    interval_minutes: int = Field(primary_key=True)
    watermark: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Latest ``recorded_at_utc`` the last run saw."""
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    intervals_last_run: int = 0


def interval_tables() -> list[Table]:
    return [SQLModel.metadata.tables[name] for name in (WFM_INTERVALS, WFM_ROLLUP_STATE)]


@dataclass(frozen=True)
class RollupResult:
    interval_minutes: int
    intervals: int
    """Intervals recomputed."""
    rows: int
    """Interval rows written."""
    ranges: list[tuple[int, int]]
    seconds: float


# -- the SQL ----------------------------------------------------------------------------------
def epoch_sql(dialect: str, column: str) -> str:
    """Epoch seconds of a UTC time column, as an integer, on either backend."""
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"


def _bucket_expr(value: str, lo: int = 0, hi: int = len(HANDLE_TIME_EDGES)) -> str:
    """A balanced CASE tree: the bucket index of ``value`` in about log2(edges) comparisons."""
    if hi - lo == 1:
        return str(lo)
    mid = (lo + hi) // 2
    left, right = _bucket_expr(value, lo, mid), _bucket_expr(value, mid, hi)
    return f"CASE WHEN {value} >= {HANDLE_TIME_EDGES[mid]} THEN {right} ELSE {left} END"


def _by_bucket(values: list[int], column: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values))
    return f"CASE {column} {whens} END"


GID_FACTOR = 1_000_000
"""Room for this many (queue, channel, intent, pool) combinations per rollup range."""
_SEGMENT_COLUMNS = {
    "ai": "ai_seconds",
    "queue": "queue_seconds",
    "human": "human_seconds",
    "after_transfer": "after_transfer_seconds",
}


def _rollup_sql(dialect: str, length: int) -> str:
    """``WITH ... INSERT ... SELECT`` rolling the facts started in ``[:lo, :hi)`` into rows."""
    outcome = {
        name: f"SUM(CASE WHEN outcome {cond} THEN 1 ELSE 0 END)"
        for name, cond in (
            ("handled", "IN ('contained', 'escalated', 'human_only')"),
            ("abandoned", "= 'abandoned'"),
            ("deflected", "= 'deflected'"),
            ("callbacks", "= 'callback'"),
            ("contained", "= 'contained'"),
            ("escalated", "= 'escalated'"),
        )
    }
    segment_totals = ", ".join(
        f"SUM(CASE WHEN {c} > 0 THEN 1 ELSE 0 END) AS {s}_count, "
        f"SUM(CASE WHEN {c} > 0 THEN {c} ELSE 0 END) AS {s}_sum"
        for s, c in _SEGMENT_COLUMNS.items()
    )
    samples = " UNION ALL ".join(
        f"SELECT gid, {i} AS seg, {_bucket_expr(c)} AS b FROM f WHERE {c} > 0"
        for i, c in enumerate(_SEGMENT_COLUMNS.values())
    )
    lower = _by_bucket(list(HANDLE_TIME_EDGES), "b")
    width = _by_bucket([bucket_width(i) for i in range(len(HANDLE_TIME_EDGES))], "b")

    def pick(rank: str) -> str:
        return (
            f"MIN(CASE WHEN cum >= {rank} AND cum - n < {rank} THEN {lower} + "
            f"CAST(({rank} - (cum - n)) * {width} AS DOUBLE PRECISION) / n END)"
        )

    pivot = ", ".join(
        f"MAX(CASE WHEN seg = {i} THEN p50 END) AS {s}_p50, "
        f"MAX(CASE WHEN seg = {i} THEN p90 END) AS {s}_p90"
        for i, s in enumerate(SEGMENTS)
    )
    columns = [
        "offered",
        *outcome,
        "handed_off",
        "handoffs",
        *(f"{s}_{k}" for s in SEGMENTS for k in ("count", "sum")),
        "csat_sum",
        "csat_count",
        "cost_usd",
    ]
    percentile_columns = [f"{s}_{p}" for s in SEGMENTS for p in ("p50", "p90")]
    dims = "q, channel, intent, pool"
    same = " AND ".join(f"raw.{k} = dims.{k}" for k in ("q", "channel", "intent", "pool"))
    # Groups are sorted and partitioned by one integer, gid = interval start x 1e6 + a dense
    # number for the (queue, channel, intent, pool) combination: sorting six text-and-integer
    # keys per histogram row was most of the rollup's time on SQLite.
    return f"""
WITH raw AS MATERIALIZED (
    SELECT ({epoch_sql(dialect, "started_at_utc")} / {length}) * {length} AS start_epoch,
           COALESCE(queue, human_queue, 'unassigned') AS q, channel, intent, pool, outcome,
           csat, cost_usd, ai_seconds, queue_seconds, human_seconds, after_transfer_seconds,
           handoffs
    FROM interaction_facts
    WHERE started_at_utc >= :lo AND started_at_utc < :hi
      AND outcome NOT IN ({", ".join(f"'{o}'" for o in NOT_DEMAND_OUTCOMES)})
),
dims AS MATERIALIZED (
    SELECT {dims}, ROW_NUMBER() OVER (ORDER BY {dims}) AS d
    FROM (SELECT DISTINCT {dims} FROM raw) AS combinations
),
f AS MATERIALIZED (
    SELECT raw.start_epoch * {GID_FACTOR} + dims.d AS gid, outcome, csat, cost_usd,
           ai_seconds, queue_seconds, human_seconds, after_transfer_seconds, handoffs
    FROM raw JOIN dims ON {same}
),
totals AS (
    SELECT gid, COUNT(*) AS offered,
           {", ".join(f"{expr} AS {name}" for name, expr in outcome.items())},
           SUM(CASE WHEN handoffs > 0 THEN 1 ELSE 0 END) AS handed_off,
           COALESCE(SUM(handoffs), 0) AS handoffs,
           {segment_totals},
           COALESCE(SUM(csat), 0) AS csat_sum, COUNT(csat) AS csat_count,
           SUM(cost_usd) AS cost_usd
    FROM f GROUP BY gid
),
samples AS ({samples}),
buckets AS (SELECT gid, seg, b, COUNT(*) AS n FROM samples GROUP BY gid, seg, b),
cumulative AS (  -- PostgreSQL sums BIGINT into NUMERIC: cast back for integer ranks
    SELECT gid, seg, b, n,
           CAST(SUM(n) OVER (PARTITION BY gid, seg ORDER BY b) AS BIGINT) AS cum,
           CAST(SUM(n) OVER (PARTITION BY gid, seg) AS BIGINT) AS total
    FROM buckets
),
ranked AS (
    SELECT gid, seg, b, n, cum,
           (50 * total + 99) / 100 AS r50, (90 * total + 99) / 100 AS r90
    FROM cumulative
),
percentiles AS (
    SELECT gid, seg, {pick("r50")} AS p50, {pick("r90")} AS p90
    FROM ranked GROUP BY gid, seg
),
pivot AS (SELECT gid, {pivot} FROM percentiles GROUP BY gid),
merged AS (  -- totals and percentiles side by side without a join (SQLite would nest loops)
    SELECT gid, {", ".join(columns)}, {", ".join(f"NULL AS {c}" for c in percentile_columns)}
    FROM totals
    UNION ALL
    SELECT gid, {", ".join(f"NULL AS {c}" for c in columns)}, {", ".join(percentile_columns)}
    FROM pivot
),
grouped AS (
    SELECT gid, {", ".join(f"MAX({c}) AS {c}" for c in columns)},
           {", ".join(f"MAX({c}) AS {c}" for c in percentile_columns)}
    FROM merged GROUP BY gid
)
INSERT INTO {WFM_INTERVALS} (interval_minutes, start_epoch, queue, channel, intent, pool,
    {", ".join(columns)}, {", ".join(percentile_columns)})
SELECT {length // 60}, g.gid / {GID_FACTOR}, dims.q, dims.channel, dims.intent, dims.pool,
       {", ".join(f"g.{c}" for c in [*columns, *percentile_columns])}
FROM grouped g JOIN dims ON dims.d = g.gid % {GID_FACTOR}
"""


def _changed_starts_sql(dialect: str, length: int) -> str:
    epoch = epoch_sql(dialect, "started_at_utc")
    return (
        f"SELECT DISTINCT ({epoch} / {length}) * {length} FROM interaction_facts "
        "WHERE recorded_at_utc > :since"
    )


def _all_starts_sql(dialect: str, length: int) -> str:
    epoch = epoch_sql(dialect, "started_at_utc")
    return f"SELECT DISTINCT ({epoch} / {length}) * {length} FROM interaction_facts"


def _epoch_utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class IntervalStore:
    """The interval tables over a store's engine; thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = write_engine(engine)

    def init_schema(self) -> None:
        """Bring the schema (these tables included) to the newest migration."""
        migrate_schema(self._engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    def rollup(
        self,
        interval_minutes: int = 15,
        *,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
        full: bool = False,
    ) -> RollupResult:
        """Recompute every interval holding a fact recorded since the last run (all of them
        on the first run, or with ``full``); returns what was done."""
        if interval_minutes <= 0 or 1440 % interval_minutes:
            raise ValueError(f"interval_minutes must divide a day, got {interval_minutes}")
        started = time.perf_counter()
        length = interval_minutes * 60
        dialect = self._engine.dialect.name
        with Session(self._engine) as session:
            state = session.get(RollupStateRow, interval_minutes)
            watermark = None if full or state is None else state.watermark
            newest = session.exec(select(func.max(InteractionFactRow.recorded_at_utc))).one()
            connection = session.connection()
            if watermark is None:
                rows = connection.execute(text(_all_starts_sql(dialect, length))).all()
            else:
                since = watermark - timedelta(seconds=overlap_seconds)
                query = text(_changed_starts_sql(dialect, length)).bindparams(
                    bindparam("since", type_=UTCDateTime())
                )
                rows = connection.execute(query, {"since": since}).all()
        starts = [int(row[0]) for row in rows]
        ranges = covering_ranges(starts, length)
        insert = text(_rollup_sql(dialect, length)).bindparams(
            bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime())
        )

        def work(session: Session) -> int:
            written = 0
            for lo, hi in ranges:
                session.exec(
                    delete(IntervalRow).where(
                        col(IntervalRow.interval_minutes) == interval_minutes,
                        col(IntervalRow.start_epoch) >= lo,
                        col(IntervalRow.start_epoch) < hi,
                    )
                )
                session.connection().execute(insert, {"lo": _epoch_utc(lo), "hi": _epoch_utc(hi)})
                # SQLite reports no rowcount for WITH ... INSERT: count what the range holds.
                written += session.exec(
                    select(func.count())
                    .select_from(IntervalRow)
                    .where(
                        col(IntervalRow.interval_minutes) == interval_minutes,
                        col(IntervalRow.start_epoch) >= lo,
                        col(IntervalRow.start_epoch) < hi,
                    )
                ).one()
            row = session.get(RollupStateRow, interval_minutes) or RollupStateRow(
                interval_minutes=interval_minutes
            )
            if newest is not None and (row.watermark is None or newest > row.watermark):
                row.watermark = newest
            row.last_run_at = utc_now()
            row.intervals_last_run = len(set(starts))
            session.add(row)
            return written

        written = write_with_retry(self._writer, work)
        return RollupResult(
            interval_minutes=interval_minutes,
            intervals=len(set(starts)),
            rows=written,
            ranges=ranges,
            seconds=time.perf_counter() - started,
        )

    def state(self, interval_minutes: int) -> RollupStateRow | None:
        with Session(self._engine) as session:
            return session.get(RollupStateRow, interval_minutes)

    def rows(
        self,
        interval_minutes: int,
        start: datetime,
        end: datetime,
        *,
        queue: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[IntervalRow]:
        """Interval rows starting in ``[start, end)``, in a stable order (time, then keys)."""
        query = select(IntervalRow).where(
            col(IntervalRow.interval_minutes) == interval_minutes,
            col(IntervalRow.start_epoch) >= int(start.timestamp()),
            col(IntervalRow.start_epoch) < int(end.timestamp()),
        )
        if queue is not None:
            query = query.where(col(IntervalRow.queue) == queue)
        query = query.order_by(
            col(IntervalRow.start_epoch),
            col(IntervalRow.queue),
            col(IntervalRow.channel),
            col(IntervalRow.intent),
            col(IntervalRow.pool),
        ).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with Session(self._engine) as session:
            return list(session.exec(query).all())

    def count(self, interval_minutes: int, start: datetime, end: datetime) -> int:
        with Session(self._engine) as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(IntervalRow)
                    .where(
                        col(IntervalRow.interval_minutes) == interval_minutes,
                        col(IntervalRow.start_epoch) >= int(start.timestamp()),
                        col(IntervalRow.start_epoch) < int(end.timestamp()),
                    )
                ).one()
            )


def _segment(row: IntervalRow, name: str) -> SegmentTimes:
    count: int = getattr(row, f"{name}_count")
    total: float = getattr(row, f"{name}_sum")
    return SegmentTimes.model_construct(
        count=count,
        sum_seconds=round(total, 6),
        mean_seconds=round(total / count, 6) if count else None,
        p50_seconds=getattr(row, f"{name}_p50"),
        p90_seconds=getattr(row, f"{name}_p90"),
    )


def to_record(row: IntervalRow) -> IntervalRecord:
    """The contract view of a stored row (built without re-validation: the store wrote it, and
    an export of a month is tens of thousands of rows)."""
    ai_pool = row.pool in AI_POOLS
    return IntervalRecord.model_construct(
        interval_start=datetime.fromtimestamp(row.start_epoch, UTC),
        interval_minutes=row.interval_minutes,
        queue=row.queue,
        channel=row.channel,
        intent=row.intent,
        pool=row.pool,
        offered=row.offered,
        handled=row.handled,
        abandoned=row.abandoned,
        deflected=row.deflected,
        callbacks=row.callbacks,
        contained=row.contained,
        escalated=row.escalated,
        handed_off=row.handed_off,
        handoffs=row.handoffs,
        ai=_segment(row, "ai"),
        queue_wait=_segment(row, "queue"),
        human=_segment(row, "human"),
        after_transfer=_segment(row, "after_transfer"),
        containment_rate=round(row.contained / row.offered, 6) if ai_pool and row.offered else None,
        csat_mean=round(row.csat_sum / row.csat_count, 6) if row.csat_count else None,
        csat_count=row.csat_count,
        cost_usd=round(row.cost_usd, 6),
    )
