"""Canary rollouts, A/B tests and rollbacks through the API, requested by the caller's identity.

Each is a workflow on the ``fleet`` task queue with one id per agent, so Temporal refuses a
second while one runs (409 here). Starts and operator commands carry the authenticated principal
as ``requested_by`` / ``by``: the workflow's decisions and the fleet audit name who asked.
``.../result`` waits a bounded time for the workflow to end (the CLI's ``wait`` polls it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import requires
from api.services import ApiServices, Services
from api.temporal import query_status, result_within, temporal_errors
from models.access import Permission, Principal
from models.canary import (
    AbortRollout,
    CanaryRolloutInput,
    CanaryStart,
    CanaryState,
    CanaryStatus,
    OperatorCommand,
    PauseRollout,
    PromoteNow,
    ResumeRollout,
)
from models.commands import WorkflowOutcome, WorkflowStarted
from models.fleet import (
    AB_TEST_WORKFLOW,
    CANARY_WORKFLOW,
    FLEET_TASK_QUEUE,
    ABTestInput,
    ABTestStart,
    ABTestState,
    OperatorNote,
    RollbackInput,
    RollbackStart,
    RollbackState,
    StopABTest,
    ab_test_workflow_id,
    canary_workflow_id,
    rollback_workflow_id,
    rollback_workflow_id_for,
)
from runtime.rollback_start import start_rollback

router = APIRouter(tags=["rollouts"])
Wait = Query(default=0.0, ge=0, description="Seconds to wait for the end (capped at 30).")


async def _start(
    services: ApiServices, workflow: str, request: BaseModel, workflow_id: str
) -> WorkflowStarted:
    client = await services.temporal.client()
    with temporal_errors(workflow_id):
        handle = await client.start_workflow(
            workflow, request, id=workflow_id, task_queue=FLEET_TASK_QUEUE
        )
    return WorkflowStarted(workflow_id=handle.id)


async def _signal(services: ApiServices, workflow_id: str, name: str, payload: BaseModel) -> None:
    client = await services.temporal.client()
    with temporal_errors(workflow_id):
        await client.get_workflow_handle(workflow_id).signal(name, payload)


async def _status(services: ApiServices, workflow_id: str, result_type: type[Any]) -> Any:
    client = await services.temporal.client()
    return await query_status(client.get_workflow_handle(workflow_id), result_type)


async def _outcome(
    services: ApiServices, workflow_id: str, result_type: type[BaseModel], wait: float
) -> WorkflowOutcome:
    client = await services.temporal.client()
    handle = client.get_workflow_handle(workflow_id, result_type=result_type)
    with temporal_errors(workflow_id):
        await handle.describe()  # an unknown workflow is 404, not "still running"
        result = await result_within(handle.result(), wait)
    return WorkflowOutcome(
        workflow_id=workflow_id,
        done=result is not None,
        result=result.model_dump(mode="json") if result is not None else None,
    )


# -- canary rollouts ------------------------------------------------------------------------


@router.post("/v1/canaries", status_code=201)
async def start_canary(
    start: CanaryStart,
    services: Services,
    principal: Annotated[Principal, requires(Permission.CANARY_CONTROL)],
) -> WorkflowStarted:
    """Start a rollout: each step bakes, gathers its sample, is analysed, then advances."""
    request = CanaryRolloutInput(**start.model_dump(), requested_by=principal.subject)
    return await _start(services, CANARY_WORKFLOW, request, canary_workflow_id(start.agent))


@router.get("/v1/canaries/{agent}", dependencies=[requires(Permission.FLEET_READ)])
async def canary_status(agent: str, services: Services) -> CanaryStatus:
    status: CanaryStatus = await _status(services, canary_workflow_id(agent), CanaryStatus)
    return status


@router.get("/v1/canaries/{agent}/result", dependencies=[requires(Permission.FLEET_READ)])
async def canary_result(
    agent: str, services: Services, wait_seconds: float = Wait
) -> WorkflowOutcome:
    return await _outcome(services, canary_workflow_id(agent), CanaryState, wait_seconds)


CANARY_COMMANDS: dict[str, tuple[str, type[OperatorCommand]]] = {
    "pause": ("pause", PauseRollout),
    "resume": ("resume", ResumeRollout),
    "abort": ("abort", AbortRollout),
    "promote-now": ("promote_now", PromoteNow),
}
"""Path -> (signal, payload) of the rollout's operator commands."""


def _canary_command(path: str, signal: str, payload_type: type[OperatorCommand]) -> None:
    async def command(
        agent: str,
        note: OperatorNote,
        services: Services,
        principal: Annotated[Principal, requires(Permission.CANARY_CONTROL)],
    ) -> dict[str, str]:
        workflow_id = canary_workflow_id(agent)
        payload = payload_type(by=principal.subject, reason=note.reason)
        await _signal(services, workflow_id, signal, payload)
        return {"sent": signal, "workflow_id": workflow_id}

    command.__doc__ = f"Send ``{signal}`` to the agent's rollout, as the caller."
    router.add_api_route(
        f"/v1/canaries/{{agent}}/{path}", command, methods=["POST"], name=f"canary_{signal}"
    )


for _path, (_signal_name, _payload) in CANARY_COMMANDS.items():
    _canary_command(_path, _signal_name, _payload)


# -- A/B tests --------------------------------------------------------------------------------


@router.post("/v1/ab-tests", status_code=201)
async def start_ab_test(
    start: ABTestStart,
    services: Services,
    principal: Annotated[Principal, requires(Permission.CANARY_CONTROL)],
) -> WorkflowStarted:
    """Start an A/B test: a fixed split until the sample or a sequential test concludes."""
    request = ABTestInput(**start.model_dump(), requested_by=principal.subject)
    return await _start(services, AB_TEST_WORKFLOW, request, ab_test_workflow_id(start.agent))


@router.get("/v1/ab-tests/{agent}", dependencies=[requires(Permission.FLEET_READ)])
async def ab_test_status(agent: str, services: Services) -> ABTestState:
    state: ABTestState = await _status(services, ab_test_workflow_id(agent), ABTestState)
    return state


@router.post("/v1/ab-tests/{agent}/stop")
async def stop_ab_test(
    agent: str,
    note: OperatorNote,
    services: Services,
    principal: Annotated[Principal, requires(Permission.CANARY_CONTROL)],
) -> dict[str, str]:
    """Conclude the A/B test now with the evidence so far."""
    workflow_id = ab_test_workflow_id(agent)
    await _signal(
        services, workflow_id, "stop", StopABTest(by=principal.subject, reason=note.reason)
    )
    return {"sent": "stop", "workflow_id": workflow_id}


# -- rollbacks --------------------------------------------------------------------------------


@router.post("/v1/rollbacks", status_code=201)
async def start_rollback_workflow(
    start: RollbackStart,
    services: Services,
    principal: Annotated[Principal, requires(Permission.ROLLBACK_CONTROL)],
) -> WorkflowStarted:
    """Start an instant, graduated or to-human rollback."""
    request = RollbackInput(**start.model_dump(), requested_by=principal.subject)
    client = await services.temporal.client()
    workflow_id = rollback_workflow_id_for(request)
    with temporal_errors(workflow_id):
        handle = await start_rollback(client, request)
    return WorkflowStarted(workflow_id=handle.id)


@router.get("/v1/rollbacks/status", dependencies=[requires(Permission.FLEET_READ)])
async def rollback_status(services: Services, agent: str | None = None) -> RollbackState:
    """The plan, the shifts applied so far and the WFM event (no agent: an all-agent failover)."""
    state: RollbackState = await _status(services, rollback_workflow_id(agent), RollbackState)
    return state


@router.get("/v1/rollbacks/result", dependencies=[requires(Permission.FLEET_READ)])
async def rollback_result(
    services: Services, agent: str | None = None, wait_seconds: float = Wait
) -> WorkflowOutcome:
    return await _outcome(services, rollback_workflow_id(agent), RollbackState, wait_seconds)
