"""The Temporal Schedule that enforces retention (``warmline-retention``).

Created if missing by every ``warmline worker`` at start and by ``warmline retention
schedule`` (which also updates its interval). Overlapping runs are skipped: a run still purging
when the next is due finishes first.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.client import ScheduleOverlapPolicy as Overlap

from models.retention import RETENTION_SCHEDULE_ID, RETENTION_TASK_QUEUE, RETENTION_WORKFLOW


def retention_schedule(every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RETENTION_WORKFLOW, {}, id="warmline-retention-run", task_queue=RETENTION_TASK_QUEUE
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )


async def ensure_retention_schedule(client: Client, every: timedelta, update: bool = False) -> bool:
    """Create the schedule; True if created. With ``update``, an existing one gets ``every``."""
    schedule = retention_schedule(every)
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, schedule)
        return True
    except ScheduleAlreadyRunningError:
        if update:

            def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(RETENTION_SCHEDULE_ID).update(replace)
        return False
