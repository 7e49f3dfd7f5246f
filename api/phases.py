"""Supervision phases through the API: start an intent's phase workflow, read it, sign off.

Signing off a promotion (less supervision for an intent) is its own permission, ``sign_off``,
held by release managers, not by the supervisors whose reviews are the evidence; the approver
recorded is the authenticated principal.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from api import review_ops as ops
from api.auth import requires
from api.services import Services
from api.temporal import temporal_errors
from models.access import Permission, Principal
from models.commands import WorkflowStarted
from models.supervision_phase import (
    NewModelVersion,
    PhaseStart,
    SignOff,
    SignOffAnswer,
    SupervisionPhaseInput,
    supervision_phase_workflow_id,
)

router = APIRouter(prefix="/v1/supervision/phases", tags=["supervision phases"])


@router.post("", status_code=201, dependencies=[requires(Permission.SIGN_OFF)])
async def start_phase(start: PhaseStart, services: Services) -> WorkflowStarted:
    """Start an intent's phase workflow in pilot (a running one is left as it is)."""
    client = await services.temporal.client()
    workflow_id = supervision_phase_workflow_id(start.intent, start.channel)
    with temporal_errors(workflow_id):
        started = await ops.start_phase(client, SupervisionPhaseInput(**start.model_dump()))
    return WorkflowStarted(workflow_id=started)


@router.get("/{intent}", dependencies=[requires(Permission.SUPERVISION_READ)])
async def phase_status(
    intent: str, services: Services, channel: str | None = None
) -> dict[str, Any]:
    """Phase, pending proposal, last evidence and verdict of an intent."""
    client = await services.temporal.client()
    with temporal_errors(supervision_phase_workflow_id(intent, channel)):
        return await ops.phase_status(client, intent, channel)


@router.post("/{intent}/sign-off")
async def sign_off(
    intent: str,
    answer: SignOffAnswer,
    services: Services,
    principal: Annotated[Principal, requires(Permission.SIGN_OFF)],
    channel: str | None = None,
) -> dict[str, str]:
    """Approve or refuse the pending promotion of an intent, as the caller."""
    client = await services.temporal.client()
    body = SignOff(**answer.model_dump(), approver=principal.subject)
    workflow_id = supervision_phase_workflow_id(intent, channel)
    with temporal_errors(workflow_id):
        await ops.sign_off(client, intent, channel, body)
    return {"sent": body.decision.value, "workflow_id": workflow_id}


@router.post("/{intent}/new-model", dependencies=[requires(Permission.SIGN_OFF)])
async def new_model(
    intent: str, body: NewModelVersion, services: Services, channel: str | None = None
) -> dict[str, str]:
    """The intent's AI changed: its phase starts in pilot again."""
    client = await services.temporal.client()
    workflow_id = supervision_phase_workflow_id(intent, channel)
    with temporal_errors(workflow_id):
        await ops.new_model(client, intent, channel, body)
    return {"announced": body.version, "workflow_id": workflow_id}
