"""Create a Temporal schedule, or bring an existing one to the deployment's settings.

Every schedule Warmline owns (retention, WFM rollup, calibration) is created by the deploy step
and must follow a changed interval on the next deploy without anyone deleting it by hand.
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)


async def create_or_update_schedule(
    client: Client, schedule_id: str, schedule: Schedule, *, update: bool = True
) -> bool:
    """True if the schedule was created; an existing one is replaced when ``update``."""
    try:
        await client.create_schedule(schedule_id, schedule)
        return True
    except ScheduleAlreadyRunningError:
        if update:

            async def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(schedule_id).update(replace)
        return False
