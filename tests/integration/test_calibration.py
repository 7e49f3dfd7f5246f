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
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from typer.testing import CliRunner

from cli import routing as routing_cli
from models.calibration import CALIBRATION_SCHEDULE_ID, CalibrationRunResult, ProposalStatus
from models.facts import InteractionFacts, RecordInteraction
from models.interaction import Route, StatusView
from store.learning import LearningStore
from tests.integration.conftest import Stack, StackApi
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION

pytestmark = pytest.mark.integration

INTENT = "order_status"
CONFIDENCE = 0.88
"""Between the default ai_min (0.92) and monitored_min (0.75): monitored today."""
TIMEOUT_SECONDS = 60.0


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
        facts = InteractionFacts(
            interaction_id=iid,
            workflow_id=f"interaction-{iid}",
            channel="chat",
            initial_channel="chat",
            segment=segment,
            language="en",
            region="us",
            intent=INTENT,
            confidence=0.86 + (i % 4) / 100,
            pattern="post_classification",
            route=Route.AI_MONITORED.value,
            pool="ai_assisted",
            outcome="contained",
            model_version=CARE_BOT_VERSION,
            classifier_version="upstream",
            config_version=1,
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
