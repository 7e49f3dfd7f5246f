"""The interval rollup on real Temporal: the Schedule starts it, the workflow runs the SQL
activity on its task queue, bad input fails at once. Histories are recorded for the replay test
with ``WARMLINE_RECORD_WFM_HISTORIES=1``."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from models.wfm import INTERVAL_ROLLUP_WORKFLOW, IntervalRollupInput, IntervalRollupResult
from runtime.settings import Settings
from runtime.wfm_schedule import ensure_rollup_schedule
from store.intervals import IntervalStore
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.polling import eventually
from tests.store.builders import make_record
from workers.wfm import build_worker

pytestmark = pytest.mark.integration
HISTORIES = Path(__file__).parents[1] / "replay" / "histories_wfm"
RECORD_ENV = "WARMLINE_RECORD_WFM_HISTORIES"
BASE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Deps:
    def __init__(self, store: Store) -> None:
        self.store = store


@pytest.fixture
async def plain_client(temporal_client: Client) -> Client:
    """The session's server, with plain pydantic payloads so histories replay without keys."""
    return Client(
        temporal_client.service_client,
        namespace=temporal_client.namespace,
        data_converter=pydantic_data_converter,
    )


@pytest.fixture
async def rollup_stack(
    plain_client: Client, tmp_path: Path
) -> AsyncIterator[tuple[Client, Store, str]]:
    store = open_test_store(f"sqlite:///{tmp_path / 'wfm.db'}")
    store.record_interactions(
        [
            make_record(
                f"r-{n}",
                events=0,
                started_at=(BASE + timedelta(minutes=n)).isoformat(),
                queue="billing",
            )
            for n in range(40)
        ]
    )
    queue = f"wfm-test-{uuid.uuid4().hex[:8]}"
    settings = Settings(wfm_rollup_every_seconds=0)  # the test makes its own schedule
    async with build_worker(plain_client, Deps(store), settings, queue, max_cached_workflows=0):
        yield plain_client, store, queue
    store.close()


def record(name: str, history_json: str) -> None:
    if os.environ.get(RECORD_ENV):
        HISTORIES.mkdir(parents=True, exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history_json)


async def test_the_schedule_rolls_facts_into_intervals(
    rollup_stack: tuple[Client, Store, str],
) -> None:
    client, store, queue = rollup_stack
    schedule_id = f"wfm-rollup-{uuid.uuid4().hex[:8]}"
    await ensure_rollup_schedule(client, 3600, 15, queue, schedule_id)
    await ensure_rollup_schedule(client, 3600, 15, queue, schedule_id)  # a second worker: update
    handle = client.get_schedule_handle(schedule_id)
    try:
        await handle.trigger()
        intervals = IntervalStore(store.engine)

        def rolled() -> int:
            return intervals.count(15, BASE, BASE + timedelta(hours=1))

        assert await eventually(rolled, "interval rows from the scheduled run") == 3
        rows = intervals.rows(15, BASE, BASE + timedelta(hours=1))
        assert [r.offered for r in rows] == [15, 15, 10]
        assert {r.queue for r in rows} == {"billing"}
        described = await handle.describe()
        assert described.info.recent_actions, "the schedule recorded its run"
    finally:
        await handle.delete()


async def test_a_direct_run_reports_and_replays(rollup_stack: tuple[Client, Store, str]) -> None:
    client, _, queue = rollup_stack
    workflow_id = f"wfm-rollup-direct-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        INTERVAL_ROLLUP_WORKFLOW,
        IntervalRollupInput(interval_minutes=30, full=True),
        id=workflow_id,
        task_queue=queue,
        result_type=IntervalRollupResult,
    )
    result = await handle.result()
    assert (result.interval_minutes, result.intervals, result.rows) == (30, 2, 2)
    record("rollup_full", (await handle.fetch_history()).to_json())


async def test_an_interval_length_that_does_not_divide_a_day_fails_at_once(
    rollup_stack: tuple[Client, Store, str],
) -> None:
    client, _, queue = rollup_stack
    handle = await client.start_workflow(
        INTERVAL_ROLLUP_WORKFLOW,
        IntervalRollupInput(interval_minutes=7),
        id=f"wfm-rollup-bad-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), timeout=30)
    activity_failure = failure.value.cause  # workflow failure <- activity failure <- the error
    assert activity_failure is not None
    cause = activity_failure.__cause__
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert "divide a day" in cause.message
    history = await handle.fetch_history()
    attempts = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert attempts[0].activity_task_started_event_attributes.attempt == 1 and len(attempts) == 1
    record("rollup_invalid", history.to_json())
