"""``RoutingCalibrationWorkflow``: one scheduled calibration run (the
``warmline-routing-calibration`` Schedule), proposing thresholds and capability scores from
outcomes.

Short and stateless, like the WFM rollup: each run recomputes everything from the facts, so a
Schedule with "skip if still running" is all the orchestration it needs. Workflow time is
passed to the activity so the lookback window is recorded once and replays identically; the
run id keys the proposal. Nothing is applied here: a human approves the proposal through the
API (``warmline routing proposals approve``).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.learning import LearningActivities
    from models.calibration import (
        CALIBRATION_WORKFLOW,
        CalibrationRequest,
        CalibrationRunInput,
        CalibrationRunResult,
        QualityTarget,
    )
    from workflows.scheduled_job import JOB_RETRY, JOB_TIMEOUT


@workflow.defn(name=CALIBRATION_WORKFLOW)
class RoutingCalibrationWorkflow:
    @workflow.run
    async def run(self, request: CalibrationRunInput) -> CalibrationRunResult:
        info = workflow.info()
        return await workflow.execute_activity_method(
            LearningActivities.propose_routing_calibration,
            CalibrationRequest(
                now=workflow.now().isoformat(),
                key=f"{info.workflow_id}/{info.run_id}",
                target=request.target or QualityTarget(),
            ),
            start_to_close_timeout=JOB_TIMEOUT,
            retry_policy=JOB_RETRY,
        )
