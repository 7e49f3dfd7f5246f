"""What the review routes (``warmline supervise``) do: async functions over a Temporal client and
the store, run by the API on behalf of the authenticated supervisor.

The worklist is a visibility query on the search attributes ``InteractionWorkflow`` upserts
(``WarmlinePendingReview = true``), oldest wait first. Decisions are the ``review_response``
signal, exactly what ``temporal workflow signal`` sends.

The supervisor cap: a supervisor *holds* a review between taking it and deciding it. A hold is
a row in the store's ``review_claims`` with a slot number 1..cap that is unique per reviewer,
so the database itself refuses a claim beyond the cap, even from two terminals at once. A
decision releases the hold; closing the interaction releases any hold left on it; the worklist
drops holds on reviews that are no longer pending (decided by another client, say the plain
``temporal`` CLI, which bypasses the cap).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.temporal import QUERY_TIMEOUT
from models import search_attributes as sa
from models.interaction import interaction_workflow_id
from models.supervision import (
    REVIEW_RESPONSE_SIGNAL,
    QAReview,
    ReviewDecision,
    ReviewResponse,
    SupervisionPolicy,
)
from models.supervision_phase import (
    NEW_MODEL_VERSION_SIGNAL,
    SIGN_OFF_SIGNAL,
    SUPERVISION_PHASE_WORKFLOW,
    SUPERVISION_TASK_QUEUE,
    NewModelVersion,
    SignOff,
    SupervisionPhaseInput,
    supervision_phase_workflow_id,
)
from store.repository import Store

PENDING_QUERY = f"{sa.PENDING_REVIEW.name} = true"
CLAIM_GRACE = timedelta(seconds=60)
"""Holds younger than this survive reconciliation: visibility lags a new pending review."""
DRAFT_KEYS = ("pending_draft", "pending_review")
"""Where the interaction's ``status`` query carries the held draft (``PendingDraft``)."""


class SuperviseError(Exception):
    """A refusal the CLI prints as is (over the cap, held by someone else, nothing pending)."""


@dataclass
class PendingItem:
    workflow_id: str
    intent: str | None
    mode: str | None
    since: datetime | None
    held_by: str | None = None

    def waited_seconds(self, now: datetime) -> float | None:
        return (now - self.since).total_seconds() if self.since else None


def workflow_id_for(target: str) -> str:
    """Accept an interaction id or its workflow id."""
    return target if target.startswith("interaction-") else interaction_workflow_id(target)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pending_query(intent: str | None = None, mode: str | None = None) -> str:
    """The visibility query; the dev server's SQL visibility has no custom ORDER BY, so the
    oldest-first order is applied here, on ``WarmlineReviewSince``."""
    query = PENDING_QUERY
    if intent:
        query += f" AND {sa.INTENT.name} = {_quote(intent)}"
    if mode:
        query += f" AND {sa.SUPERVISION_MODE.name} = {_quote(mode)}"
    return query


def active_policy(store: Store) -> SupervisionPolicy:
    return store.active_supervision_policy() or SupervisionPolicy()


async def pending_reviews(
    client: Client,
    store: Store | None = None,
    intent: str | None = None,
    mode: str | None = None,
    limit: int = 100,
) -> list[PendingItem]:
    items: list[PendingItem] = []
    async for execution in client.list_workflows(pending_query(intent, mode), limit=limit):
        attrs = execution.typed_search_attributes
        items.append(
            PendingItem(
                workflow_id=execution.id,
                intent=attrs.get(sa.INTENT),
                mode=attrs.get(sa.SUPERVISION_MODE),
                since=attrs.get(sa.REVIEW_SINCE),
            )
        )
    far_future = datetime.max.replace(tzinfo=UTC)
    items.sort(key=lambda item: (item.since or far_future, item.workflow_id))
    if store is not None:
        open_ids = {item.workflow_id for item in items}
        if not intent and not mode and len(items) < limit:
            # Only a complete worklist may say which holds are stale.
            cutoff = datetime.now(UTC) - CLAIM_GRACE
            await asyncio.to_thread(store.release_claims_except, open_ids, cutoff)
        holders = {
            c.workflow_id: c.reviewer_id for c in await asyncio.to_thread(store.review_claims)
        }
        for item in items:
            item.held_by = holders.get(item.workflow_id)
    return items


async def interaction_status(client: Client, target: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(workflow_id_for(target))
    result = await handle.query("status", rpc_timeout=QUERY_TIMEOUT)
    if hasattr(result, "model_dump"):
        return dict(result.model_dump(mode="json"))
    return dict(result)


def draft_id_from_status(status: dict[str, Any]) -> str | None:
    for key in DRAFT_KEYS:
        draft = status.get(key)
        if isinstance(draft, dict) and draft.get("draft_id"):
            return str(draft["draft_id"])
    return None


async def _resolve_draft(client: Client, target: str, draft: str | None) -> str:
    if draft:
        return draft
    found = draft_id_from_status(await interaction_status(client, target))
    if found is None:
        raise SuperviseError(f"{workflow_id_for(target)} holds no draft for review")
    return found


async def claim(
    client: Client, store: Store, target: str, reviewer: str, draft: str | None = None
) -> str:
    """Hold the pending review for ``reviewer`` (within their cap); returns the draft id."""
    draft_id = await _resolve_draft(client, target, draft)
    cap = (await asyncio.to_thread(active_policy, store)).supervisor_concurrent_cap
    outcome = await asyncio.to_thread(
        store.claim_review, workflow_id_for(target), draft_id, reviewer, cap
    )
    if not outcome.claimed:
        raise SuperviseError(f"not claimed: {outcome.reason}")
    return draft_id


async def release(store: Store, target: str, reviewer: str) -> int:
    """Give back the reviewer's hold on the target (someone else's hold is left alone)."""
    wf = workflow_id_for(target)
    mine = [
        c for c in await asyncio.to_thread(store.review_claims, reviewer) if c.workflow_id == wf
    ]
    for held in mine:
        await asyncio.to_thread(store.release_review_claim, wf, held.draft_id)
    return len(mine)


async def decide(
    client: Client,
    store: Store,
    target: str,
    reviewer: str,
    decision: str,
    *,
    draft: str | None = None,
    text: str | None = None,
    reason: str | None = None,
) -> ReviewResponse:
    """Claim (within the cap), send ``review_response``, release. Invalid input never leaves."""
    draft_id = await _resolve_draft(client, target, draft)
    response = ReviewResponse(
        draft_id=draft_id,
        decision=ReviewDecision(decision),
        reviewer_id=reviewer,
        edited_text=text,
        reason=reason,
    )
    await claim(client, store, target, reviewer, draft_id)
    wf = workflow_id_for(target)
    try:
        await client.get_workflow_handle(wf).signal(
            REVIEW_RESPONSE_SIGNAL, response.model_dump(mode="json")
        )
    finally:
        await asyncio.to_thread(store.release_review_claim, wf, draft_id)
    return response


async def record_qa(
    store: Store, interaction_id: str, reviewer: str, correct: bool, notes: str | None
) -> bool:
    facts = await asyncio.to_thread(store.get_facts, interaction_id)
    if facts is None:
        raise SuperviseError(f"no recorded facts for interaction {interaction_id}")
    review = QAReview(
        interaction_id=interaction_id,
        reviewer_id=reviewer,
        intent=facts.intent,
        channel=facts.initial_channel,
        resolved_correctly=correct,
        reviewed_at=datetime.now(UTC),
        notes=notes,
    )
    return await asyncio.to_thread(store.record_qa_review, review)


# -- supervision phases ----------------------------------------------------------------------


async def start_phase(client: Client, start: SupervisionPhaseInput) -> str:
    """Start an intent's phase workflow; a running one is left as it is (safe to repeat, so a
    deploy script may call it for every intent it knows)."""
    wf = supervision_phase_workflow_id(start.intent, start.channel)
    await client.start_workflow(
        SUPERVISION_PHASE_WORKFLOW,
        start.model_dump(mode="json"),
        id=wf,
        task_queue=SUPERVISION_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return wf


async def phase_status(client: Client, intent: str, channel: str | None) -> dict[str, Any]:
    handle = client.get_workflow_handle(supervision_phase_workflow_id(intent, channel))
    result = await handle.query("status", rpc_timeout=QUERY_TIMEOUT)
    return dict(result.model_dump(mode="json")) if hasattr(result, "model_dump") else dict(result)


async def sign_off(client: Client, intent: str, channel: str | None, body: SignOff) -> None:
    handle = client.get_workflow_handle(supervision_phase_workflow_id(intent, channel))
    await handle.signal(SIGN_OFF_SIGNAL, body.model_dump(mode="json"))


async def new_model(
    client: Client, intent: str, channel: str | None, body: NewModelVersion
) -> None:
    handle = client.get_workflow_handle(supervision_phase_workflow_id(intent, channel))
    await handle.signal(NEW_MODEL_VERSION_SIGNAL, body.model_dump(mode="json"))
