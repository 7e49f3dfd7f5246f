"""The Temporal Schedule that runs ``WfmIntervalRollupWorkflow``: created once, kept in step.

The deploy step (``warmline setup``, ``warmline dev``) calls ``ensure_rollup_schedule``: it
creates the Schedule, or updates its spec if the settings changed. Overlapping runs are
skipped (a slow full rollup never piles up behind itself).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from models.wfm import (
    INTERVAL_ROLLUP_SCHEDULE_ID,
    INTERVAL_ROLLUP_WORKFLOW,
    WFM_TASK_QUEUE,
    IntervalRollupInput,
)
from runtime.schedule_upsert import create_or_update_schedule

log = logging.getLogger("warmline.wfm")


def rollup_schedule(
    every_seconds: float, interval_minutes: int, task_queue: str = WFM_TASK_QUEUE
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            INTERVAL_ROLLUP_WORKFLOW,
            IntervalRollupInput(interval_minutes=interval_minutes),
            id=f"{INTERVAL_ROLLUP_SCHEDULE_ID}-run",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=30),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_rollup_schedule(
    client: Client,
    every_seconds: float,
    interval_minutes: int,
    task_queue: str = WFM_TASK_QUEUE,
    schedule_id: str = INTERVAL_ROLLUP_SCHEDULE_ID,
) -> None:
    schedule = rollup_schedule(every_seconds, interval_minutes, task_queue)
    if await create_or_update_schedule(client, schedule_id, schedule):
        log.info("created schedule %s (every %.0f s)", schedule_id, every_seconds)
