"""Contracts of the WFM integration: the interval rollup, interval records, plans, events.

What leaves Warmline for a workforce-management platform (interval data, exports, the polling
API's answers, CloudEvents) and what comes back (planned human capacity per interval and queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

WFM_TASK_QUEUE: Final = "wfm"
INTERVAL_ROLLUP_WORKFLOW: Final = "WfmIntervalRollupWorkflow"
INTERVAL_ROLLUP_SCHEDULE_ID: Final = "wfm-interval-rollup"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntervalRollupInput(_Doc):
    """One rollup run: recompute the intervals late or new facts touched."""

    interval_minutes: int = Field(default=15, description="15, 30 or 60.")
    full: bool = Field(default=False, description="Recompute every interval, not only new ones.")
    overlap_seconds: float = Field(
        default=300.0, ge=0, description="Re-read facts stamped this long before the watermark."
    )


class IntervalRollupResult(_Doc):
    interval_minutes: int
    intervals: int = Field(description="Intervals recomputed.")
    rows: int = Field(description="Interval rows written.")
    seconds: float


class SegmentTimes(_Doc):
    """Handle time of one segment in one interval row (samples are interactions with > 0 s)."""

    count: int = 0
    sum_seconds: float = 0.0
    mean_seconds: float | None = None
    p50_seconds: float | None = None
    p90_seconds: float | None = None


class IntervalRecord(_Doc):
    """One interval of one queue x channel x intent x pool."""

    interval_start: datetime = Field(description="UTC start of the interval.")
    interval_minutes: int
    queue: str
    channel: str
    intent: str
    pool: str = Field(description="ai_contained | ai_assisted | human_only")
    offered: int
    handled: int = Field(description="Resolved by AI or a human (contained, escalated, human).")
    abandoned: int
    deflected: int
    callbacks: int
    contained: int = Field(description="Resolved by the AI alone.")
    escalated: int
    ai: SegmentTimes
    queue_wait: SegmentTimes
    human: SegmentTimes
    after_transfer: SegmentTimes
    containment_rate: float | None = Field(
        description="contained / offered for the AI pools; null for human_only rows."
    )
    csat_mean: float | None
    csat_count: int
    cost_usd: float


# -- schedule sync: planned human capacity pushed by the WFM platform ---------------------------
class PlannedInterval(_Doc):
    """Planned human capacity of one queue in one interval (from the WFM schedule)."""

    interval_start: datetime = Field(description="UTC start of the interval (aware ISO 8601).")
    queue: str = Field(min_length=1, max_length=200)
    planned_agents: int = Field(ge=0, le=100_000, description="Productive agents scheduled.")
    planned_volume: float | None = Field(
        default=None, ge=0, description="Forecast human-bound contacts in the interval."
    )
    planned_aht_seconds: float | None = Field(
        default=None, gt=0, le=86_400, description="Forecast average handle time."
    )


class PlanPush(_Doc):
    """A schedule push: every row is applied, or none."""

    interval_minutes: int = Field(default=15, description="15, 30 or 60.")
    intervals: list[PlannedInterval] = Field(min_length=1, max_length=50_000)


class PlanApplied(_Doc):
    rows: int
    queues: list[str]
    first_interval: datetime
    last_interval: datetime


class PlanVsActual(_Doc):
    """One interval of one queue: the plan against what happened (human-bound work)."""

    interval_start: datetime
    queue: str
    planned_agents: int | None
    planned_volume: float | None
    actual_volume: int = Field(
        description="Human-bound interactions offered (AI-assisted and human-only pools)."
    )
    actual_aht_seconds: float | None = Field(description="Mean human handle time.")
    required_agents: int | None = Field(
        description="Erlang C agents the actual volume and AHT needed at the target service "
        "level; null without volume."
    )
    staffing_variance: int | None = Field(description="planned_agents - required_agents.")
    volume_variance: float | None = Field(description="actual_volume - planned_volume.")


class Reforecast(_Doc):
    """Intraday re-forecast of one future interval's human-bound volume."""

    interval_start: datetime
    queue: str
    planned_volume: float
    reforecast_volume: float
    ratio: float = Field(description="Actual / planned volume so far today, bounded.")
    reasons: list[str] = Field(default_factory=list)
