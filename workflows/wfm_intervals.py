"""``WfmIntervalRollupWorkflow``: one run of the interval rollup, started by a Temporal Schedule.

Why a Schedule and a short workflow rather than a long-running loop: every run is independent
and idempotent (it recomputes whole intervals from the facts), so there is no state to carry,
history never grows, and the Schedule gives pause, backfill and "skip if the last run is still
going" for free. Bad input (an interval length that does not divide a day) fails at once,
non-retryable.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.wfm import WfmActivities
    from models.wfm import INTERVAL_ROLLUP_WORKFLOW, IntervalRollupInput, IntervalRollupResult
    from workflows.scheduled_job import JOB_RETRY, JOB_TIMEOUT


@workflow.defn(name=INTERVAL_ROLLUP_WORKFLOW)
class WfmIntervalRollupWorkflow:
    @workflow.run
    async def run(self, request: IntervalRollupInput) -> IntervalRollupResult:
        return await workflow.execute_activity_method(
            WfmActivities.rollup_intervals,
            request,
            start_to_close_timeout=JOB_TIMEOUT,
            retry_policy=JOB_RETRY,
        )
