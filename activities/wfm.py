"""Activities of the ``wfm`` task queue: the interval rollup (and what WFM views need from the
store). The SQL does the work (``store.intervals``); the activity only runs it off the event
loop and reports what it did."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.wfm import IntervalRollupInput, IntervalRollupResult
from store.intervals import IntervalStore


class WfmActivities:
    def __init__(self, intervals: IntervalStore) -> None:
        self.intervals = intervals

    @activity.defn(name="rollup_intervals")
    async def rollup_intervals(self, request: IntervalRollupInput) -> IntervalRollupResult:
        """Recompute the intervals new or late facts touched; re-running is harmless."""
        try:
            result = await asyncio.to_thread(
                self.intervals.rollup,
                request.interval_minutes,
                overlap_seconds=request.overlap_seconds,
                full=request.full,
            )
        except ValueError as exc:  # an interval length no retry can fix
            raise ApplicationError(str(exc), type="InvalidInput", non_retryable=True) from exc
        activity.logger.info(
            "rolled %d interval(s) of %d min into %d row(s) in %.2f s",
            result.intervals,
            result.interval_minutes,
            result.rows,
            result.seconds,
        )
        return IntervalRollupResult(
            interval_minutes=result.interval_minutes,
            intervals=result.intervals,
            rows=result.rows,
            seconds=round(result.seconds, 3),
        )

    def all(self) -> list[Callable[..., Any]]:
        return [self.rollup_intervals]
