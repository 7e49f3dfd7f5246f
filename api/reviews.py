"""The supervisor's worklist, holds, decisions and QA through the API (``review``).

The reviewer of every hold, decision and QA review is the authenticated principal: a request
cannot decide in someone else's name, and the concurrent-review cap counts the caller's holds.
Reading an interaction's status shows its (redacted) transcript and the held draft, so each read
is recorded on the ``privileged-reads`` audit stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import review_ops as ops
from api.auth import requires
from api.errors import ApiError
from api.services import Services
from api.temporal import temporal_errors
from models.access import Permission, Principal
from models.commands import ClaimRequest, QARequest, ReviewRequest
from models.supervision import ReviewResponse

router = APIRouter(tags=["reviews"])


@contextlib.contextmanager
def _refusals(target: str) -> Iterator[None]:
    with temporal_errors(ops.workflow_id_for(target)):
        try:
            yield
        except ops.SuperviseError as exc:
            raise ApiError(409, str(exc)) from None


@router.get("/v1/reviews", dependencies=[requires(Permission.REVIEW)])
async def worklist(
    services: Services,
    intent: str | None = None,
    mode: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Pending reviews, oldest wait first, with who holds each."""
    client = await services.temporal.client()
    with temporal_errors("the review worklist"):
        items = await ops.pending_reviews(client, services.store, intent, mode, limit)
    return [
        {
            "workflow_id": i.workflow_id,
            "intent": i.intent,
            "mode": i.mode,
            "since": i.since.isoformat() if i.since else None,
            "held_by": i.held_by,
        }
        for i in items
    ]


@router.get("/v1/reviews/held")
async def held(
    services: Services, principal: Annotated[Principal, requires(Permission.REVIEW)]
) -> dict[str, Any]:
    """The caller's holds against their concurrent-review cap."""
    claims = await asyncio.to_thread(services.store.review_claims, principal.subject)
    policy = await asyncio.to_thread(ops.active_policy, services.store)
    return {
        "reviewer": principal.subject,
        "held": [c.workflow_id for c in claims],
        "cap": policy.supervisor_concurrent_cap,
    }


@router.post("/v1/reviews/{target}/claim")
async def claim(
    target: str,
    body: ClaimRequest,
    services: Services,
    principal: Annotated[Principal, requires(Permission.REVIEW)],
) -> dict[str, str]:
    """Hold a pending review (it counts against the caller's cap) before deciding it."""
    client = await services.temporal.client()
    with _refusals(target):
        draft_id = await ops.claim(client, services.store, target, principal.subject, body.draft_id)
    return {"workflow_id": ops.workflow_id_for(target), "draft_id": draft_id}


@router.post("/v1/reviews/{target}/release")
async def release(
    target: str, services: Services, principal: Annotated[Principal, requires(Permission.REVIEW)]
) -> dict[str, int]:
    """Give the caller's hold on a review back to the worklist."""
    return {"released": await ops.release(services.store, target, principal.subject)}


@router.post("/v1/reviews/{target}/decision")
async def decide(
    target: str,
    body: ReviewRequest,
    services: Services,
    principal: Annotated[Principal, requires(Permission.REVIEW)],
) -> ReviewResponse:
    """Approve, edit or reject the held draft, as the caller (claims it within the cap first)."""
    client = await services.temporal.client()
    with _refusals(target):
        return await ops.decide(
            client,
            services.store,
            target,
            principal.subject,
            body.decision.value,
            draft=body.draft_id,
            text=body.edited_text,
            reason=body.reason,
        )


@router.get("/v1/interactions/{target}/status")
async def interaction_status(
    target: str, services: Services, principal: Annotated[Principal, requires(Permission.REVIEW)]
) -> dict[str, Any]:
    """The interaction's ``status``: state, redacted transcript, decisions, the held draft."""
    client = await services.temporal.client()
    workflow_id = ops.workflow_id_for(target)
    with _refusals(target):
        status = await ops.interaction_status(client, target)
    await services.record_read(
        principal, "interaction_status_read", {"workflow_ids": [workflow_id]}
    )
    return status


@router.post("/v1/qa-reviews", status_code=201)
async def qa_review(
    body: QARequest,
    services: Services,
    principal: Annotated[Principal, requires(Permission.REVIEW)],
) -> dict[str, bool]:
    """Record a post-interaction QA review; the first review of an interaction is kept."""
    with _refusals(body.interaction_id):
        recorded = await ops.record_qa(
            services.store,
            body.interaction_id,
            principal.subject,
            body.resolved_correctly,
            body.notes,
        )
    return {"recorded": recorded}
