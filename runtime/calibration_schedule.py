"""The Temporal Schedule that runs ``RoutingCalibrationWorkflow``: created once, kept in step.

The deploy step (``warmline setup``, ``warmline dev``) calls ``ensure_calibration_schedule``
through ``runtime.schedules.ensure_schedules``: it creates the Schedule, or updates its period
if the settings changed. Overlapping runs are skipped. A run only proposes; nothing changes
routing until a human approves.
"""

from __future__ import annotations

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

from models.calibration import (
    CALIBRATION_SCHEDULE_ID,
    CALIBRATION_TASK_QUEUE,
    CALIBRATION_WORKFLOW,
    CalibrationRunInput,
)
from runtime.schedule_upsert import create_or_update_schedule


def calibration_schedule(
    every_minutes: float, task_queue: str = CALIBRATION_TASK_QUEUE
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            CALIBRATION_WORKFLOW,
            CalibrationRunInput(),
            id=f"{CALIBRATION_SCHEDULE_ID}-run",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=30),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=every_minutes))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_calibration_schedule(
    client: Client,
    every_minutes: float,
    task_queue: str = CALIBRATION_TASK_QUEUE,
    schedule_id: str = CALIBRATION_SCHEDULE_ID,
) -> None:
    schedule = calibration_schedule(every_minutes, task_queue)
    await create_or_update_schedule(client, schedule_id, schedule)
