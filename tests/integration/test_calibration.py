"""Thresholds calibrated from outcomes, end to end on the real dev server: facts in the store,
``RoutingCalibrationWorkflow`` on the stack's learning worker, the proposal listed, shown and
approved with ``warmline routing proposals`` through the real API as an operator, and the next
interaction routed on the approved version.

The cell is a segment of its own, so facts other tests leave behind never fall in it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from cli import routing as routing_cli
from models.calibration import (
    CALIBRATION_SCHEDULE_ID,
    CALIBRATION_WORKFLOW,
    CalibrationRunResult,
    ProposalStatus,
)
from models.facts import RecordInteraction
from models.interaction import Route, StatusView
from models.supervision import SupervisionMode, SupervisionPolicy
from runtime.calibration_schedule import ensure_calibration_schedule
from runtime.settings import Settings
from store.learning import LearningStore
from tests.audit_keys import open_test_store
from tests.integration.conftest import Stack, StackApi
from tests.integration.recorded import save_history
from tests.polling import eventually
from tests.store.builders import make_facts
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION, default_routing_config
from workers.learning import learning_worker

pytestmark = pytest.mark.integration

INTENT = "order_status"
CONFIDENCE = 0.88
"""Between the default ai_min (0.92) and monitored_min (0.75): monitored today."""
TIMEOUT_SECONDS = 60.0
RECORD_ENV = "WARMLINE_RECORD_LEARNING_HISTORIES"


async def warmline(env: dict[str, str], *args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, routing_cli.app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return str(result.output)


def evidence(segment: str, count: int) -> list[RecordInteraction]:
    """AI-routed, monitored interactions at 0.86-0.89 that the AI contained, with good CSAT."""
    now = datetime.now(UTC).isoformat()
    records = []
    for i in range(count):
        iid = f"calib-{segment}-{i}"
        facts = make_facts(
            iid,
            segment=segment,
            intent=INTENT,
            confidence=0.86 + (i % 4) / 100,
            pattern="post_classification",
            route=Route.AI_MONITORED.value,
            pool="ai_assisted",
            model_version=CARE_BOT_VERSION,
            classifier_version="upstream",
            ai_endpoint=f"{CARE_BOT}:{CARE_BOT_VERSION}",
            started_at=now,
            ended_at=now,
            turns=2,
            csat=5,
        )
        records.append(RecordInteraction(facts=facts))
    return records


async def route_of(stack: Stack, segment: str) -> tuple[str, list[str]]:
    handle: WorkflowHandle[Any, Any] = await stack.start(
        "Where is my order?",
        customer={"id": "cust-calib", "segment": segment},
        metadata={"entry_point": "ivr"},
        upstream_intent={"intent": INTENT, "confidence": CONFIDENCE},
    )
    await handle.execute_update("await_reply", {"turn": 1})
    status = await handle.query("status", result_type=StatusView)
    await handle.signal("end_interaction", {"reason": "customer hung up"})
    await asyncio.wait_for(handle.result(), TIMEOUT_SECONDS)
    decision = status.decisions[0]
    return str(decision["route"]), list(decision["reasons"])


async def test_an_approved_calibration_proposal_changes_routing_from_the_next_interaction(
    stack: Stack, stack_api: StackApi
) -> None:
    segment = f"calib-{uuid.uuid4().hex[:8]}"
    await stack.use_config(lambda c: c)
    # Routing is what is measured: a monitored route's AI reply is sent unreviewed (else each
    # look at the route would wait out the review deadline, five minutes).
    await stack.use_supervision(
        SupervisionPolicy(
            default_mode=SupervisionMode.FULLY_AUTONOMOUS,
            monitored_route_mode=SupervisionMode.FULLY_AUTONOMOUS,
        )
    )
    route, _ = await route_of(stack, segment)
    assert route == Route.AI_MONITORED.value
    await asyncio.to_thread(stack.store.record_interactions, evidence(segment, 40))

    operator = stack_api.env("ops@example.com", "operator")
    auditor = stack_api.env("audit@example.com", "auditor")
    assert "started" in await warmline(operator, "proposals", "run")
    run = stack.client.get_workflow_handle(
        f"{CALIBRATION_SCHEDULE_ID}-manual", result_type=CalibrationRunResult
    )
    outcome = await asyncio.wait_for(run.result(), TIMEOUT_SECONDS)
    assert outcome.proposal_id is not None
    cell = f"{INTENT}/chat/{segment}: ai_min 0.92 -> 0.85"
    assert any(change.startswith(cell) for change in outcome.changes), outcome.changes

    listed = json.loads(await warmline(auditor, "proposals", "list", "--json"))
    assert listed[0]["id"] == outcome.proposal_id and listed[0]["status"] == "pending"
    shown = await warmline(auditor, "proposals", "show", str(outcome.proposal_id))
    assert f"{INTENT} / chat / {segment}: ai_min 0.92 -> 0.85" in shown
    assert "0.85-0.90" in shown  # the band that earned it, with its evidence
    refused = await asyncio.to_thread(
        CliRunner().invoke,
        routing_cli.app,
        ["proposals", "approve", str(outcome.proposal_id)],
        env=auditor,
    )
    assert refused.exit_code != 0 and "routing_change" in refused.output

    approved = await warmline(
        operator, "proposals", "approve", str(outcome.proposal_id), "--note", "evidence holds"
    )
    assert "approved: routing config v" in approved
    proposal = LearningStore(stack.store).proposal(outcome.proposal_id)
    assert proposal is not None and proposal.status is ProposalStatus.APPROVED
    active = stack.store.active_routing_config()
    assert active is not None and active.version == proposal.applied_version
    assert active.author == "ops@example.com"

    stack.deps.configs.invalidate()  # what the workers' config TTL does within seconds
    route, reasons = await route_of(stack, segment)
    assert route == Route.AI.value
    assert any(f"intent={INTENT},channel=chat,segment={segment}" in r for r in reasons), reasons


async def test_the_schedule_runs_a_calibration_that_proposes_once_per_run(
    temporal_client: Client, tmp_path: Path
) -> None:
    """The Schedule as the deploy step creates it, on a worker without a workflow cache (every
    task replays its history); ``WARMLINE_RECORD_LEARNING_HISTORIES=<dir>`` saves the history
    ``tests/replay/histories_learning`` replays."""
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    try:
        base = store.save_routing_config(default_routing_config("http://127.0.0.1:9"), "ops")
        store.record_interactions(evidence("standard", 40))
        # Its own queue and schedule id: the shared integration stack runs a learning worker.
        schedule_id, queue = f"{CALIBRATION_SCHEDULE_ID}-test", "learning-test"
        async with learning_worker(
            temporal_client, store, Settings(), task_queue=queue, max_cached_workflows=0
        ):
            await ensure_calibration_schedule(
                temporal_client, 1440, task_queue=queue, schedule_id=schedule_id
            )
            schedule = temporal_client.get_schedule_handle(schedule_id)
            try:
                await schedule.trigger()

                async def started() -> str:
                    query = f"WorkflowType = '{CALIBRATION_WORKFLOW}' AND TaskQueue = '{queue}'"
                    async for execution in temporal_client.list_workflows(query):
                        return execution.id
                    return ""

                workflow_id = await eventually(started, "the scheduled calibration run", 60.0)
                handle = temporal_client.get_workflow_handle(
                    workflow_id, result_type=CalibrationRunResult
                )
                outcome = await asyncio.wait_for(handle.result(), TIMEOUT_SECONDS)
            finally:
                await schedule.delete()
        assert outcome.proposal_id is not None and outcome.interactions == 40
        proposal = LearningStore(store).proposal(outcome.proposal_id)
        assert proposal is not None and proposal.result.base_version == base.version
        assert proposal.status is ProposalStatus.PENDING
        kinds = [e.kind for e in store.audit_trail("routing-config")]
        assert kinds[-1] == "routing_proposal_created"
        estimates = {(e.endpoint, e.intent): e for e in proposal.result.capabilities}
        care = estimates[(f"{CARE_BOT}:{CARE_BOT_VERSION}", INTENT)]
        assert care.configured < care.estimated < 1.0  # 40 resolved move it, shrunk
        await save_history(temporal_client, workflow_id, "calibration_proposed", RECORD_ENV)
    finally:
        store.close()


async def test_an_invalid_target_fails_the_run_at_once_naming_the_field(
    temporal_client: Client, tmp_path: Path
) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    try:
        queue = "learning-invalid"
        async with learning_worker(temporal_client, store, Settings(), task_queue=queue):
            with pytest.raises(WorkflowFailureError) as failure:
                await temporal_client.execute_workflow(
                    CALIBRATION_WORKFLOW,
                    {"target": {"min_resolution_rate": 5}},
                    id=f"calibration-invalid-{uuid.uuid4().hex[:8]}",
                    task_queue=queue,
                )
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError) and cause.non_retryable
        assert "min_resolution_rate" in str(cause)
    finally:
        store.close()
