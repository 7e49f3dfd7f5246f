"""``RetentionWorkflow``: one scheduled run of retention (the ``warmline-retention`` Schedule).

Thin on purpose: the plan is made by ``warmline.retention`` (inside an activity, from workflow
time, so it is recorded once and replays identically), the store deletes; this only sequences.
Each run first signs a checkpoint: the anchor a later run's audit purge will need. The audit
step makes its anchor the first kept checkpoint before deleting anything, so the trail
verifies at every moment. Long runs continue-as-new with their progress.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.retention import RetentionActivities
    from models.retention import (
        RETENTION_WORKFLOW,
        CompactRequest,
        DataClass,
        PlanRequest,
        PurgeBatch,
        PurgeCount,
        PurgeRecord,
        RetentionRunInput,
    )

STORE_CALL_TIMEOUT = timedelta(minutes=5)
STORE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=20)


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self, payload: dict[str, Any] | None = None) -> PurgeRecord:
        try:
            state = RetentionRunInput.model_validate(payload or {})
        except ValidationError as exc:
            raise ApplicationError(
                f"invalid RetentionRunInput: {exc}", type="InvalidInput", non_retryable=True
            ) from None
        run_id = workflow.info().workflow_id
        plan = state.plan
        if plan is None:
            await self._call(RetentionActivities.take_checkpoint)
            plan = await self._call(
                RetentionActivities.plan_retention, PlanRequest(now=workflow.now().isoformat())
            )
            state = RetentionRunInput(plan=plan)
        while state.step_index < len(plan.steps):
            step = plan.steps[state.step_index]
            if len(state.done) == state.step_index:
                state.done.append(PurgeCount(step=step, deleted=0))
            if step.data_class is DataClass.AUDIT and plan.audit_anchor is not None:
                await self._call(
                    RetentionActivities.compact_audit,
                    CompactRequest(anchor=plan.audit_anchor, run_id=run_id),
                )
            batch = PurgeBatch(step=step, limit=plan.batch_size, audit_anchor=plan.audit_anchor)
            while True:
                count = await self._call(RetentionActivities.purge_batch, batch)
                state.done[state.step_index].deleted += count.deleted
                if count.deleted < batch.limit:
                    break
                if workflow.info().is_continue_as_new_suggested():
                    workflow.continue_as_new(state.model_dump(mode="json"))
            state.step_index += 1
        expected = {(c.step.data_class, c.step.region): c.held for c in plan.expected}
        counts = [
            c.model_copy(update={"held": expected.get((c.step.data_class, c.step.region), 0)})
            for c in state.done
        ]
        record = PurgeRecord(run_id=run_id, plan=plan, counts=counts)
        await self._call(RetentionActivities.record_purge, record)
        return record

    async def _call(self, activity: Any, *args: Any) -> Any:
        return await workflow.execute_activity_method(
            activity,
            *args,
            start_to_close_timeout=STORE_CALL_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
