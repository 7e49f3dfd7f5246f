"""Retention through the API: the policy, legal holds, the next run's plan, a run now.

Who may do what is split on purpose (``warmline.access``): ``retention_change`` (admin) stores
policy versions and triggers a purge run; ``legal_hold`` (auditor) sets and releases holds;
``retention_read`` (both) shows the policy, the holds and what the next run would delete. Every
change is on the ``retention`` audit stream with the authenticated principal as its actor, in
the same transaction as the change itself (``store.retention``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from api.temporal import temporal_errors
from models.access import Permission, Principal
from models.retention import (
    RETENTION_SCHEDULE_ID,
    LegalHold,
    LegalHoldRequest,
    RetentionPlan,
    RetentionPolicy,
    RetentionRunRequested,
)
from store.retention import RetentionStore

router = APIRouter(prefix="/v1/retention", tags=["retention"])


def _retention(services: Services) -> RetentionStore:
    return RetentionStore(services.store)


@router.get("/policy", dependencies=[requires(Permission.RETENTION_READ)])
async def active_policy(services: Services) -> RetentionPolicy:
    """The active policy (version 0, no rules: nothing is purged)."""
    return await asyncio.to_thread(_retention(services).active_policy)


@router.post("/policy", status_code=201)
async def save_policy(
    policy: RetentionPolicy,
    services: Services,
    principal: Annotated[Principal, requires(Permission.RETENTION_CHANGE)],
) -> RetentionPolicy:
    """Store ``policy`` as the next version, authored by the caller (``version``, ``author``
    and ``created_at`` in the body are ignored: the store assigns them)."""
    return await asyncio.to_thread(_retention(services).save_policy, policy, principal.subject)


@router.get("/plan", dependencies=[requires(Permission.RETENTION_READ)])
async def plan(services: Services) -> RetentionPlan:
    """What a run now would delete per data class and region, and what legal holds keep."""
    return await asyncio.to_thread(_retention(services).expected_plan, datetime.now(UTC))


@router.get("/holds", dependencies=[requires(Permission.RETENTION_READ)])
async def holds(services: Services, include_released: bool = False) -> list[LegalHold]:
    """Active holds, oldest first (with ``include_released``, released ones too)."""
    return await asyncio.to_thread(_retention(services).holds, not include_released)


@router.post("/holds", status_code=201)
async def set_hold(
    request: LegalHoldRequest,
    services: Services,
    principal: Annotated[Principal, requires(Permission.LEGAL_HOLD)],
) -> LegalHold:
    """Keep every record of the interaction (audit stream included) until released."""
    return await asyncio.to_thread(
        _retention(services).set_hold, request.interaction_id, request.reason, principal.subject
    )


@router.post("/holds/{hold_id}/release")
async def release_hold(
    hold_id: int,
    services: Services,
    principal: Annotated[Principal, requires(Permission.LEGAL_HOLD)],
) -> LegalHold:
    """Release an active hold: the interaction's records follow the policy again."""
    released = await asyncio.to_thread(
        _retention(services).release_hold, hold_id, principal.subject
    )
    if released is None:
        raise ApiError(404, f"no active legal hold {hold_id}")
    return released


@router.post("/runs", status_code=202)
async def run_now(
    services: Services,
    principal: Annotated[Principal, requires(Permission.RETENTION_CHANGE)],
) -> RetentionRunRequested:
    """Trigger the retention Schedule now (a checkpoint, then the purge); the request is
    audited before the Schedule is triggered."""
    client = await services.temporal.client()
    await asyncio.to_thread(
        _retention(services).record_run_request, RETENTION_SCHEDULE_ID, principal.subject
    )
    try:
        with temporal_errors(RETENTION_SCHEDULE_ID):
            await client.get_schedule_handle(RETENTION_SCHEDULE_ID).trigger()
    except ApiError as refusal:
        if refusal.status_code != 404:
            raise
        raise ApiError(
            404,
            f"no Schedule {RETENTION_SCHEDULE_ID}: the deploy step `warmline setup` (or "
            "`warmline retention schedule`) creates it",
        ) from None
    return RetentionRunRequested(schedule_id=RETENTION_SCHEDULE_ID, requested_by=principal.subject)
