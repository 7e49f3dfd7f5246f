"""``WfmIntervalRollupWorkflow``: one run of the interval rollup, started by a Temporal Schedule.

Why a Schedule and a short workflow rather than a long-running loop: every run is independent
and idempotent (it recomputes whole intervals from the facts), so there is no state to carry,
history never grows, and the Schedule gives pause, backfill and "skip if the last run is still
going" for free. Bad input (an interval length that does not divide a day) fails at once,
non-retryable.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.wfm import WfmActivities
    from models.wfm import INTERVAL_ROLLUP_WORKFLOW, IntervalRollupInput, IntervalRollupResult

ROLLUP_TIMEOUT = timedelta(minutes=10)
"""A full rollup of months of facts on PostgreSQL; an incremental one takes well under a second."""
ROLLUP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["InvalidInput"],
)


@workflow.defn(name=INTERVAL_ROLLUP_WORKFLOW)
class WfmIntervalRollupWorkflow:
    @workflow.run
    async def run(self, request: IntervalRollupInput) -> IntervalRollupResult:
        return await workflow.execute_activity_method(
            WfmActivities.rollup_intervals,
            request,
            start_to_close_timeout=ROLLUP_TIMEOUT,
            retry_policy=ROLLUP_RETRY,
        )
