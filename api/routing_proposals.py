"""Routing proposals through the API: list and read them (routing readers), approve or reject
them (the routing config change permission), and start a calibration run now.

Approval is a routing config change like any other: the saved version is authored by the
approver, audited on the ``routing-config`` stream with the proposal's own approval event, in
one transaction (``store.learning``). A proposal that is no longer pending, or was made on an
older config than the active one, is refused with 409 and the reason.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from api.temporal import temporal_errors
from models.access import Permission, Principal
from models.calibration import (
    CALIBRATION_SCHEDULE_ID,
    CALIBRATION_TASK_QUEUE,
    CALIBRATION_WORKFLOW,
    CalibrationRunInput,
    ProposalDecision,
    ProposalStatus,
    ProposalSummary,
    RoutingProposal,
)
from models.commands import WorkflowStarted
from store.learning import LearningStore, ProposalConflict

router = APIRouter(prefix="/v1/routing-proposals", tags=["routing"])


@router.get("", dependencies=[requires(Permission.ROUTING_READ)])
async def list_proposals(
    services: Services, status: ProposalStatus | None = None
) -> list[ProposalSummary]:
    """Newest first, optionally only those with ``status``."""
    return await asyncio.to_thread(LearningStore(services.store).proposals, status)


@router.get("/{proposal_id}", dependencies=[requires(Permission.ROUTING_READ)])
async def show_proposal(proposal_id: int, services: Services) -> RoutingProposal:
    """The proposal with its evidence: bands per cell, capability estimates, the document."""
    proposal = await asyncio.to_thread(LearningStore(services.store).proposal, proposal_id)
    if proposal is None:
        raise ApiError(404, f"no routing proposal {proposal_id}")
    return proposal


async def _decide(
    services: Services, proposal_id: int, approve: bool, by: str, note: str
) -> RoutingProposal:
    learning = LearningStore(services.store)
    try:
        decided = await asyncio.to_thread(
            lambda: learning.decide(proposal_id, approve=approve, by=by, note=note)
        )
    except ProposalConflict as exc:
        raise ApiError(409, str(exc)) from None
    if decided is None:
        raise ApiError(404, f"no routing proposal {proposal_id}")
    return decided


@router.post("/{proposal_id}/approve")
async def approve(
    proposal_id: int,
    decision: ProposalDecision,
    services: Services,
    principal: Annotated[Principal, requires(Permission.ROUTING_CHANGE)],
) -> RoutingProposal:
    """Save the proposed config as the next version, authored by the caller."""
    return await _decide(services, proposal_id, True, principal.subject, decision.note)


@router.post("/{proposal_id}/reject")
async def reject(
    proposal_id: int,
    decision: ProposalDecision,
    services: Services,
    principal: Annotated[Principal, requires(Permission.ROUTING_CHANGE)],
) -> RoutingProposal:
    return await _decide(services, proposal_id, False, principal.subject, decision.note)


@router.post("/runs", status_code=201, dependencies=[requires(Permission.ROUTING_CHANGE)])
async def run_calibration(request: CalibrationRunInput, services: Services) -> WorkflowStarted:
    """Start a calibration run now (the Schedule runs one daily); it only proposes."""
    client = await services.temporal.client()
    workflow_id = f"{CALIBRATION_SCHEDULE_ID}-manual"
    with temporal_errors(workflow_id):
        handle = await client.start_workflow(
            CALIBRATION_WORKFLOW, request, id=workflow_id, task_queue=CALIBRATION_TASK_QUEUE
        )
    return WorkflowStarted(workflow_id=handle.id)
