"""The Temporal Schedules Warmline runs on, e.g. the one that enforces retention.

Created if missing by the deploy step (``warmline setup``, and ``warmline dev`` for the
embedded stack); ``warmline retention schedule`` also updates the retention interval.
Overlapping runs are skipped: a run still purging when the next is due finishes first.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.client import ScheduleOverlapPolicy as Overlap

from models.retention import RETENTION_SCHEDULE_ID, RETENTION_TASK_QUEUE, RETENTION_WORKFLOW
from runtime.calibration_schedule import ensure_calibration_schedule
from runtime.schedule_upsert import create_or_update_schedule
from runtime.settings import Settings
from runtime.wfm_schedule import ensure_rollup_schedule


def retention_schedule(every: timedelta, task_queue: str = RETENTION_TASK_QUEUE) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RETENTION_WORKFLOW, {}, id="warmline-retention-run", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )


async def ensure_retention_schedule(
    client: Client,
    every: timedelta,
    update: bool = False,
    *,
    schedule_id: str = RETENTION_SCHEDULE_ID,
    task_queue: str = RETENTION_TASK_QUEUE,
) -> bool:
    """Create the schedule; True if created. With ``update``, an existing one gets ``every``.

    ``schedule_id`` and ``task_queue`` exist for tests sharing a server with a running stack.
    """
    schedule = retention_schedule(every, task_queue)
    return await create_or_update_schedule(client, schedule_id, schedule, update=update)


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Every Schedule Warmline runs on, created if missing (or brought in step with the
    settings): part of the deploy step."""
    await ensure_retention_schedule(client, timedelta(minutes=settings.retention_every_minutes))
    if settings.wfm_rollup_every_seconds > 0:
        await ensure_rollup_schedule(
            client, settings.wfm_rollup_every_seconds, settings.wfm_interval_minutes
        )
    if settings.calibration_every_minutes > 0:
        await ensure_calibration_schedule(client, settings.calibration_every_minutes)
