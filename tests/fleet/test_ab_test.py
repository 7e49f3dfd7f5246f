"""ABTestWorkflow: a fixed split until the pre-registered sample, then a report with lift."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from models.fleet import (
    AB_TEST_WORKFLOW,
    FLEET_TASK_QUEUE,
    WFM_EVENT_STREAM,
    ABDesign,
    ABPhase,
    ABTestConfig,
    ABTestInput,
    ABTestState,
    StopABTest,
    ab_test_workflow_id,
)
from models.routing import EndpointRole
from simulators.ai_fleet import FaultMode, FaultRule
from tests.fleet.conftest import CANARY_VERSION, FleetStack
from tests.polling import eventually, until
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION
from warmline.registry import find, live_shares

pytestmark = pytest.mark.integration

POLL = 300.0
RESULT_TIMEOUT_SECONDS = 30.0


async def start(stack: FleetStack, config: ABTestConfig) -> WorkflowHandle[Any, ABTestState]:
    handle = await stack.client.start_workflow(
        AB_TEST_WORKFLOW,
        ABTestInput(
            agent=CARE_BOT,
            versions=[CARE_BOT_VERSION, CANARY_VERSION],
            config=config,
            requested_by="analyst",
        ),
        id=ab_test_workflow_id(CARE_BOT),
        task_queue=FLEET_TASK_QUEUE,
        result_type=ABTestState,
    )
    # The split must be in place before traffic counts.
    await until(
        lambda: handle.query("status", result_type=ABTestState),
        lambda state: bool(state.reasons),
        "the A/B split to be applied",
    )
    return handle


async def test_fixed_ab_test_reports_lift_and_restores_the_split(stack: FleetStack) -> None:
    stack.fleet.set_fault(
        FaultRule(name=CARE_BOT, version=CANARY_VERSION, mode=FaultMode.ESCALATE, rate=1.0)
    )
    handle = await start(
        stack, ABTestConfig(sample_size_per_arm=5, poll_seconds=POLL, wfm_update_threshold=0.01)
    )
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == pytest.approx(
        {CARE_BOT_VERSION: 50, CANARY_VERSION: 50}
    )
    for round_index in range(6):
        if (await handle.query("status", result_type=ABTestState)).phase is not ABPhase.RUNNING:
            break
        # Customers who leave quietly rate the chat: both arms get CSAT answers.
        await stack.drive(f"ab-{round_index}", 10, ending=lambda i: "silence", csat=lambda i: 4)
        await stack.env.sleep(POLL)
    state = await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT_SECONDS)

    assert state.phase is ABPhase.CONCLUDED
    report = state.last_report
    assert report is not None and report.concluded
    assert report.winner == CARE_BOT_VERSION
    assert min(arm.interactions for arm in report.arms) >= 5
    (comparison,) = report.comparisons
    lift = comparison.containment
    assert lift.variant_value == 0.0 and lift.control_value == 1.0 and lift.significant
    assert lift.ci_low is not None and lift.ci_high is not None and lift.ci_high < 0
    assert comparison.average_handle_time.ci_low is not None
    assert comparison.csat.n_control >= 2 and comparison.csat.n_variant >= 2
    assert comparison.csat.ci_low is not None
    assert report.blended_containment == pytest.approx(0.5, abs=0.01)
    events = [e for e in stack.store.audit_trail(WFM_EVENT_STREAM) if handle.id in e.payload["key"]]
    assert events and events[0].kind == "ab_test_blended_containment"
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
    assert find(config, CARE_BOT, CANARY_VERSION).role is EndpointRole.CANARY
    await stack.record("ab_test_fixed", handle, save=True)


async def test_stop_concludes_at_once(stack: FleetStack) -> None:
    handle = await start(
        stack, ABTestConfig(design=ABDesign.SEQUENTIAL, sample_size_per_arm=1000, poll_seconds=POLL)
    )
    await handle.signal("stop", {"by": "", "reason": "enough"})
    await eventually(lambda: stack.rejected_signals(handle), "the malformed stop audited")
    assert (await handle.query("status", result_type=ABTestState)).phase is ABPhase.RUNNING
    [rejected] = stack.rejected_signals(handle)
    assert rejected.payload["reason"] == "by: String should have at least 1 character"
    await handle.signal("stop", StopABTest(by="analyst", reason="enough"))
    state = await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT_SECONDS)
    assert state.phase is ABPhase.STOPPED and state.reasons[-2] == "stopped by analyst"
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
