"""Graceful shutdown: a stopping worker lets in-flight activities finish within
``WARMLINE_WORKER_GRACEFUL_SHUTDOWN_SECONDS`` (default 60, as docker/README.md promises), and
cancels them only past it. Real dev server, workers built with ``workers.versioning``'s options.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.settings import Settings
from tests.polling import eventually
from workers.versioning import LONG_RUNNING, worker_options

pytestmark = pytest.mark.integration

ACTIVITY_SECONDS = 1.5
STARTED: set[str] = set()


@activity.defn
async def slow_step(key: str) -> str:
    STARTED.add(key)
    await asyncio.sleep(ACTIVITY_SECONDS)
    return "done"


@workflow.defn(sandboxed=False)
class OneSlowStep:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            slow_step,
            key,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


def worker(client: Client, queue: str, grace_seconds: float) -> Worker:
    settings = Settings(worker_graceful_shutdown_seconds=grace_seconds)
    return Worker(
        client,
        task_queue=queue,
        workflows=[OneSlowStep],
        activities=[slow_step],
        **worker_options(settings, LONG_RUNNING),
    )


async def stop_mid_activity(client: Client, grace_seconds: float) -> list[EventType.ValueType]:
    """Stop the worker while its activity runs; a fresh worker finishes the workflow. Returns
    the activity's events."""
    queue = key = f"shutdown-{uuid.uuid4().hex[:8]}"
    first = worker(client, queue, grace_seconds)
    run = asyncio.create_task(first.run())
    handle = await client.start_workflow(OneSlowStep.run, key, id=key, task_queue=queue)
    await eventually(lambda: key in STARTED, "the activity to start")
    await first.shutdown()
    await run
    async with worker(client, queue, grace_seconds):
        # Cut off, the activity fails (one attempt) and so does the workflow.
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
    history = await handle.fetch_history()
    return [e.event_type for e in history.events if "ACTIVITY_TASK" in EventType.Name(e.event_type)]


async def test_in_flight_activity_finishes_during_graceful_shutdown(
    bare_server: WorkflowEnvironment,
) -> None:
    events = await stop_mid_activity(
        bare_server.client, Settings().worker_graceful_shutdown_seconds
    )
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in events


async def test_without_a_grace_period_the_activity_is_cut_off(
    bare_server: WorkflowEnvironment,
) -> None:
    """The contrast that shows the setting is what lets the activity finish."""
    events = await stop_mid_activity(bare_server.client, 0)
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED not in events
