"""Contracts of the WFM integration: the interval rollup, interval records, plans, events.

What leaves Warmline for a workforce-management platform (interval data, exports, the polling
API's answers, CloudEvents) and what comes back (planned human capacity per interval and queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictInt

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
    handed_off: int = Field(
        default=0, description="Interactions an AI agent handed to another (topic shift)."
    )
    handoffs: int = Field(default=0, description="AI-to-AI hand-offs in all of them.")
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
def _time_text(value: object) -> object:
    """Plan times come as ISO 8601 text (or datetimes from the CSV parser), never as numbers."""
    if not isinstance(value, str | datetime):
        raise ValueError("an ISO 8601 time with an offset is required")
    return value


class PlannedInterval(_Doc):
    """Planned human capacity of one queue in one interval (from the WFM schedule).

    Numbers are strict (``true`` is not 1 agent) and times are ISO 8601 text: a plan that does
    not say what it means is refused rather than guessed."""

    interval_start: Annotated[datetime, BeforeValidator(_time_text)] = Field(
        description="UTC start of the interval (aware ISO 8601)."
    )
    queue: str = Field(min_length=1, max_length=200)
    planned_agents: StrictInt = Field(ge=0, le=100_000, description="Productive agents scheduled.")
    planned_volume: Annotated[float, Strict()] | None = Field(
        default=None, ge=0, le=1e9, description="Forecast human-bound contacts in the interval."
    )
    planned_aht_seconds: Annotated[float, Strict()] | None = Field(
        default=None, gt=0, le=86_400, description="Forecast average handle time."
    )


class PlanPush(_Doc):
    """A schedule push: every row is applied, or none."""

    interval_minutes: Literal[15, 30, 60] = Field(default=15, description="15, 30 or 60.")
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


# -- the polling API's answers -----------------------------------------------------------------
class IntervalPage(_Doc):
    items: list[IntervalRecord]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")
    total: int = Field(description="Rows in the whole range.")


class ContainmentPoint(_Doc):
    period_start: datetime
    ai_interactions: int = Field(description="Closed interactions an AI took part in.")
    contained: int
    containment_rate: float | None


class ContainmentTrend(_Doc):
    granularity: str = Field(
        description="5m (rolling windows from the facts), hour, day, week "
        "(ISO, from Monday) or month; UTC."
    )
    points: list[ContainmentPoint]


class EndpointCapacity(_Doc):
    endpoint: str
    breaker: str = Field(description="closed | degraded | open | half_open")
    degradation: str | None = Field(description="Graceful degradation level, when applied.")
    reasons: list[str]
    updated_at: datetime | None


class CapacityStatus(_Doc):
    status: str = Field(description="available | degraded | unavailable (AI capacity overall).")
    endpoints: list[EndpointCapacity]
    open: int
    degraded: int


class IntradaySnapshot(_Doc):
    day_start: datetime = Field(description="UTC start of the day the numbers cover.")
    as_of: datetime
    offered: int
    handled: int
    human_bound: int = Field(description="Offered to humans: AI-assisted and human-only pools.")
    ai_contained: int
    ai_handed_off: int = Field(
        default=0, description="Interactions an AI agent handed to another (topic shift)."
    )
    containment_today: float | None
    containment_5m: float | None = Field(description="Rolling 5-minute AI containment.")
    capacity: CapacityStatus
    current_interval: list[PlanVsActual]


class PlanVsActualReport(_Doc):
    intervals: list[PlanVsActual]
    reforecast: list[Reforecast] = Field(
        description="Intervals still ahead: human-bound volume re-forecast by today's ratio."
    )


class ErrorDetail(_Doc):
    """A refusal, the API's one error shape (``api.errors``): what was wrong, and for a 422 the
    fields (or plan rows and columns) it was wrong in."""

    error: str
    details: list[dict[str, Any]] | None = None
