"""The workflow boundary on the real dev server, with the production workers and converter.

Hostile start inputs fail every long-running workflow type at once (one workflow task, no
retry loop) with a non-retryable ``InvalidInput`` naming the field and never echoing what was
sent; a client cannot hand a workflow its carried state; malformed signals are recorded as
rejected and the workflow carries on.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from models.canary import CanaryState
from models.fleet import (
    AB_TEST_WORKFLOW,
    CANARY_WORKFLOW,
    FLEET_TASK_QUEUE,
    ROLLBACK_WORKFLOW,
)
from models.supervision_phase import (
    SIGN_OFF_SIGNAL,
    SUPERVISION_PHASE_WORKFLOW,
    SUPERVISION_TASK_QUEUE,
    Phase,
    SupervisionPhaseState,
    SupervisionPhaseStatus,
    supervision_phase_stream,
    supervision_phase_workflow_id,
)
from tests.integration.conftest import Stack
from tests.polling import until

pytestmark = pytest.mark.integration

CARD = "4111 1111 1111 1111"
"""Sent in hostile inputs: must never come back in a failure message or an audit reason."""
RESULT_TIMEOUT_SECONDS = 30.0
"""A run in a workflow-task retry loop never ends: fail the test instead of hanging it."""

VALID_STARTS: dict[str, tuple[str, dict[str, Any]]] = {
    CANARY_WORKFLOW: (FLEET_TASK_QUEUE, {"agent": "care-bot", "canary_version": "9.9"}),
    AB_TEST_WORKFLOW: (FLEET_TASK_QUEUE, {"agent": "care-bot", "versions": ["a", "b"]}),
    ROLLBACK_WORKFLOW: (FLEET_TASK_QUEUE, {"mode": "instant", "agent": "care-bot"}),
    SUPERVISION_PHASE_WORKFLOW: (SUPERVISION_TASK_QUEUE, {"intent": "refund_request"}),
}
FORGED_STATES: dict[str, dict[str, Any]] = {
    CANARY_WORKFLOW: CanaryState(agent="care-bot", canary_version="9.9").model_dump(mode="json"),
    SUPERVISION_PHASE_WORKFLOW: SupervisionPhaseState(
        intent="refund_request", phase=Phase.MATURITY
    ).model_dump(mode="json"),
}


def hostile_starts(workflow: str) -> list[tuple[str, list[Any], str]]:
    """(case, start arguments, what the error must name)."""
    valid = VALID_STARTS[workflow][1]
    first_field = next(iter(valid))
    return [
        ("a string", [CARD], "<root>"),
        ("a list", [[CARD]], "<root>"),
        ("null", [None], "<root>"),
        ("nothing", [], "<root>: expected 1 argument"),
        ("two objects", [valid, valid], "<root>: expected at most 1 argument"),
        ("a field of the wrong type", [{**valid, first_field: {"n": CARD}}], first_field),
        ("an unknown field", [{**valid, "shadow": CARD}], "shadow"),
    ]


CASES = [
    pytest.param(workflow, args, names, id=f"{workflow}-{case}")
    for workflow in VALID_STARTS
    for case, args, names in hostile_starts(workflow)
]


async def start(client: Client, workflow: str, args: list[Any]) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        workflow,
        args=args,
        id=f"boundary-{uuid.uuid4().hex[:10]}",
        task_queue=VALID_STARTS[workflow][0],
    )


async def invalid_input(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    """The run's failure, asserting it failed on its first workflow task."""
    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_SECONDS)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == "InvalidInput" and cause.non_retryable
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events, "retried instead of failing"
    assert events.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1
    return cause


@pytest.mark.parametrize(("workflow", "args", "names"), CASES)
async def test_a_hostile_start_fails_the_workflow_at_once_naming_the_field(
    stack: Stack, workflow: str, args: list[Any], names: str
) -> None:
    cause = await invalid_input(await start(stack.client, workflow, args))
    assert names in cause.message
    assert CARD not in cause.message and "4111" not in cause.message


@pytest.mark.parametrize("workflow", sorted(FORGED_STATES))
async def test_a_client_cannot_hand_a_workflow_its_carried_state(
    stack: Stack, workflow: str
) -> None:
    body = {**VALID_STARTS[workflow][1], "state": FORGED_STATES[workflow]}
    cause = await invalid_input(await start(stack.client, workflow, [body]))
    assert "state: only the workflow's own continue-as-new sets it" in cause.message


async def test_malformed_signals_are_recorded_as_rejected_and_the_phase_carries_on(
    stack: Stack,
) -> None:
    intent = f"boundary{uuid.uuid4().hex[:6]}"
    handle = await stack.client.start_workflow(
        SUPERVISION_PHASE_WORKFLOW,
        VALID_STARTS[SUPERVISION_PHASE_WORKFLOW][1] | {"intent": intent},
        id=supervision_phase_workflow_id(intent),
        task_queue=SUPERVISION_TASK_QUEUE,
    )
    await handle.signal(SIGN_OFF_SIGNAL, CARD)
    await handle.signal(SIGN_OFF_SIGNAL, args=[{"approver": "a"}, {"approver": "b"}])
    await handle.signal(SIGN_OFF_SIGNAL, {"approver": CARD, "decision": "maybe"})
    await handle.signal(SIGN_OFF_SIGNAL, {"approver": "ops", "decision": "approve"})

    def rejected(status: SupervisionPhaseStatus) -> list[str]:
        return [r for h in status.state.history if h.kind == "signal_rejected" for r in h.reasons]

    status = await until(
        lambda: handle.query("status", result_type=SupervisionPhaseStatus),
        lambda s: len(rejected(s)) == 3 and s.state.history[-1].kind == "sign_off_ignored",
        "three rejected sign-offs, then the valid one answered",
    )
    reasons = rejected(status)
    assert "sign_off: <root>: Input should be an object" in reasons[0]
    assert "expected at most 1 argument" in reasons[1]
    assert "decision" in reasons[2] and CARD not in reasons[2]
    audited = [e for e in stack.store.audit_trail(supervision_phase_stream(intent))]
    assert [e.kind for e in audited].count("signal_rejected") == 3
    assert CARD not in str([e.payload for e in audited])
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events
    await handle.terminate("test finished")
