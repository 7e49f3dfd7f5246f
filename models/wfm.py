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
