"""Retention enforced by the Temporal Schedule on the real dev server, with a real store.

The schedule is created as the worker creates it, triggered, and its ``RetentionWorkflow``
checkpoints, purges by policy and audits the run. The worker keeps no workflow cache, so every
task replays its history. ``WARMLINE_RECORD_RETENTION_HISTORIES=<dir>`` saves the (decrypted)
history, which is how ``tests/replay/histories_retention`` is refreshed after a deliberate
change of the workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner, Result

from activities.retention import RetentionActivities
from cli import retention as retention_cli
from models.retention import (
    RETENTION_SCHEDULE_ID,
    RETENTION_TASK_QUEUE,
    RETENTION_WORKFLOW,
    DataClass,
    PurgeRecord,
    RetentionPolicy,
    RetentionRule,
)
from runtime.schedules import ensure_retention_schedule
from store.audit_checkpoints import stored_checkpoints
from store.audit_verify import RETENTION_STREAM
from store.repository import Store
from store.retention import RetentionStore
from tests.audit_keys import TEST_SIGNING_KEY, open_test_store
from tests.integration.conftest import Stack, StackApi
from tests.integration.recorded import save_history
from tests.polling import eventually
from tests.store.builders import make_record
from workers.retention import retention_worker

pytestmark = pytest.mark.integration
RECORD_ENV = "WARMLINE_RECORD_RETENTION_HISTORIES"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    yield opened
    opened.close()


async def test_the_schedule_runs_a_checkpointed_audited_purge(
    temporal_client: Client, store: Store
) -> None:
    assert store.record_interaction(make_record("gone-1", started_at="2020-01-01T00:00:00+00:00"))
    assert store.record_interaction(make_record("held-1", started_at="2020-01-01T00:00:00+00:00"))
    assert store.record_interaction(make_record("recent-1", started_at="2999-01-01T00:00:00+00:00"))
    retention = RetentionStore(store)
    retention.save_policy(
        RetentionPolicy(
            rules=[RetentionRule(data_class=DataClass.FACTS, keep_days=30)], batch_size=1
        ),
        "dpo",
    )
    retention.set_hold("held-1", "open case", "legal")
    activities = RetentionActivities(store, TEST_SIGNING_KEY)
    # Its own queue and schedule id: the shared integration stack runs a retention worker too.
    schedule_id, queue = f"{RETENTION_SCHEDULE_ID}-test", "retention-test"
    hourly = timedelta(hours=1)
    async with retention_worker(
        temporal_client, activities, task_queue=queue, max_cached_workflows=0
    ):
        ensure = ensure_retention_schedule
        assert await ensure(temporal_client, hourly, schedule_id=schedule_id, task_queue=queue)
        assert not await ensure(temporal_client, hourly, schedule_id=schedule_id, task_queue=queue)
        schedule = temporal_client.get_schedule_handle(schedule_id)
        try:
            await schedule.trigger()

            async def started() -> str:
                query = f"WorkflowType = '{RETENTION_WORKFLOW}' AND TaskQueue = 'retention-test'"
                async for execution in temporal_client.list_workflows(query):
                    return execution.id
                return ""

            workflow_id = await eventually(started, "the scheduled retention run")
            handle = temporal_client.get_workflow_handle(workflow_id, result_type=PurgeRecord)
            record = await handle.result()
        finally:
            await schedule.delete()
    assert [(c.step.data_class, c.deleted, c.held) for c in record.counts] == [
        (DataClass.FACTS, 1, 1)
    ]
    assert store.get_facts("gone-1") is None
    assert store.get_facts("held-1") is not None and store.get_facts("recent-1") is not None
    kinds = [e.kind for e in store.audit_trail("retention")]
    assert kinds[-1] == "purged"
    assert record.plan.policy_version == 1
    with Session(store.engine) as session:
        checkpoints = stored_checkpoints(session)
    assert [c.seq for c in checkpoints] == [1]  # the run signed a checkpoint first
    await save_history(temporal_client, workflow_id, "facts_purge_with_hold", RECORD_ENV)


async def test_invalid_input_fails_at_once_naming_it(temporal_client: Client, store: Store) -> None:
    activities = RetentionActivities(store, TEST_SIGNING_KEY)
    async with retention_worker(temporal_client, activities, task_queue="retention-invalid"):
        with pytest.raises(WorkflowFailureError) as failure:
            await temporal_client.execute_workflow(
                RETENTION_WORKFLOW,
                {"plan": 5},
                id="retention-invalid-input",
                task_queue="retention-invalid",
            )
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert "invalid RetentionRunInput" in str(cause) and "plan" in str(cause)
    assert RETENTION_TASK_QUEUE != "retention-invalid"


async def test_an_admin_runs_the_schedule_now_through_the_api_as_themselves(
    stack: Stack, stack_api: StackApi
) -> None:
    """``warmline retention run``: the deploy step's Schedule on the stack's retention worker,
    triggered through the API; the request and the run are audited, by whom it says."""

    async def run(env: dict[str, str]) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, retention_cli.app, ["run"], env=env)

    def trail() -> list[tuple[str, str]]:
        return [(e.kind, e.actor) for e in stack.store.audit_trail(RETENTION_STREAM)]

    before = len(trail())
    await ensure_retention_schedule(stack.client, timedelta(hours=1))
    try:
        refused = await run(stack_api.env("legal@example.com", "auditor"))
        assert refused.exit_code == 1 and "lacks permission 'retention_change'" in refused.output
        done = await run(stack_api.env("dpo@example.com", "admin"))
        assert done.exit_code == 0, done.output
        assert f"triggered {RETENTION_SCHEDULE_ID} for dpo@example.com" in done.output

        def purged() -> list[tuple[str, str]]:
            return [entry for entry in trail()[before:] if entry[0] == "purged"]

        await eventually(purged, "the triggered retention run's purge record")
    finally:
        await stack.client.get_schedule_handle(RETENTION_SCHEDULE_ID).delete()
    assert trail()[before] == ("retention_run_requested", "dpo@example.com")
