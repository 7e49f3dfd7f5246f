"""The Temporal SDK runtime metrics a worker exports: real worker, real dev server, real scrape.

Alert rules and ``bench/scale`` read these names (``runtime.sdk_metrics.RELIED_ON``); if an SDK
upgrade renames one, this fails rather than an alert silently never firing.
"""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.metrics import start_metrics_server
from runtime.sdk_metrics import RELIED_ON, metrics_runtime, parse_samples
from runtime.settings import Settings
from tests.ops.conftest import free_port, target_of
from tests.polling import eventually

pytestmark = pytest.mark.integration

FAILED_ONCE: set[str] = set()


@activity.defn
async def note(value: int) -> int:
    return value


@workflow.defn(sandboxed=False)
class PokedWorkflow:
    """Fails its first task once (a workflow task failure), runs an activity, then takes
    signals: enough traffic for every relied-on metric, evictions included."""

    def __init__(self) -> None:
        self.pokes = 0

    @workflow.run
    async def run(self) -> int:
        if workflow.info().workflow_id not in FAILED_ONCE:
            FAILED_ONCE.add(workflow.info().workflow_id)
            raise RuntimeError("first task fails on purpose")
        await workflow.execute_activity(note, 1, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: self.pokes >= 2)
        return self.pokes

    @workflow.signal
    def poke(self) -> None:
        self.pokes += 1


async def completed_tasks(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    done = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return sum(1 for event in history.events if event.event_type == done)


async def waiting_for_pokes(handle: WorkflowHandle[Any, Any]) -> None:
    """Its activity done and the task after it completed: nothing of its own is in flight, so
    the next task it gets is a poke's (a task counted as settled must be the signal's)."""

    async def idle() -> bool:
        events = [e.event_type for e in (await handle.fetch_history()).events]
        return (
            EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events
            and events[-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )

    await eventually(idle, "the workflow to wait for pokes")


async def poke_and_settle(handle: WorkflowHandle[Any, Any]) -> None:
    before = await completed_tasks(handle)
    await handle.signal(PokedWorkflow.poke)

    async def handled() -> bool:
        return await completed_tasks(handle) > before

    await eventually(handled, "the signal to be handled")


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return parse_samples(response.read().decode())


async def test_worker_exports_every_relied_on_sdk_metric(
    bare_server: WorkflowEnvironment,
) -> None:
    settings = Settings(temporal_metrics_port=free_port(), metrics_host="127.0.0.1")
    runtime = metrics_runtime(settings)
    assert runtime is not None
    client = await Client.connect(target_of(bare_server), runtime=runtime)
    queue = f"sdk-metrics-{uuid.uuid4().hex[:6]}"
    # A cache of one workflow: the second one evicts the first.
    async with Worker(
        client,
        task_queue=queue,
        workflows=[PokedWorkflow],
        activities=[note],
        max_cached_workflows=1,
    ):
        first, second = [
            await client.start_workflow(PokedWorkflow.run, id=f"{queue}-{i}", task_queue=queue)
            for i in range(2)
        ]
        for handle in (first, second):
            await waiting_for_pokes(handle)
        # One signal at a time, each handled before the next: the second poke of a workflow
        # then finds it cached (a hit), the first poke after the other ran finds it evicted.
        for handle in (first, first, second, second):
            await poke_and_settle(handle)
        assert await first.result() == 2 and await second.result() == 2
        samples = await asyncio.to_thread(scrape, settings.temporal_metrics_port)

    exported = {name.removesuffix("_bucket") for name in samples}
    assert not RELIED_ON - exported, f"not exported: {sorted(RELIED_ON - exported)}"
    assert samples["temporal_workflow_task_execution_failed"] >= 2
    assert samples["temporal_sticky_cache_total_forced_eviction"] >= 1


def test_port_zero_turns_sdk_metrics_off() -> None:
    assert metrics_runtime(Settings(temporal_metrics_port=0)) is None


def test_metrics_endpoint_binds_where_the_setting_says() -> None:
    server = start_metrics_server(free_port(), addr=Settings().metrics_host)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()
