"""A simulated supervision desk: supervisors who work the review worklist of the demo.

They find held drafts exactly as a real supervisor tool would (the ``WarmlinePendingReview``
visibility query plus the interaction's ``status`` query) and answer by the public
``review_response`` signal: mostly approve, sometimes edit, now and then reject. Decisions
are a deterministic function of the draft id so a demo run can be repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.service import RPCError

log = logging.getLogger("warmline.simulators.supervisors")

WORKLIST_QUERY = "WarmlinePendingReview = true AND ExecutionStatus = 'Running'"


@dataclass
class DeskStats:
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    seen: set[str] = field(default_factory=set)


def decision_for(draft_key: str, approve_share: float = 0.8, edit_share: float = 0.12) -> str:
    bucket = int(hashlib.sha256(draft_key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < approve_share:
        return "approve"
    if bucket < approve_share + edit_share:
        return "edit"
    return "reject"


class SupervisorDesk:
    """``supervisors`` people, each deciding one draft at a time after ``think_seconds``."""

    def __init__(
        self,
        client: Client,
        supervisors: int = 3,
        think_seconds: float = 0.3,
        poll_seconds: float = 0.5,
    ) -> None:
        self.client = client
        self.think_seconds = think_seconds
        self.poll_seconds = poll_seconds
        self.stats = DeskStats()
        self._slots = asyncio.Semaphore(supervisors)
        self._names = [f"sup-{i + 1}" for i in range(supervisors)]
        self._task: asyncio.Task[None] | None = None
        self._working: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="supervisor-desk")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._working) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async for execution in self.client.list_workflows(WORKLIST_QUERY):
                    if execution.id not in self.stats.seen:
                        self.stats.seen.add(execution.id)
                        task = asyncio.create_task(self._review(execution.id))
                        self._working.add(task)
                        task.add_done_callback(self._working.discard)
            except RPCError as exc:
                log.warning("worklist query failed: %s", exc)
            await asyncio.sleep(self.poll_seconds)

    async def _review(self, workflow_id: str) -> None:
        async with self._slots:
            handle = self.client.get_workflow_handle(workflow_id)
            try:
                while True:
                    status = await handle.query("status")
                    draft = status.get("pending_draft")
                    if not draft or status.get("state") == "closed":
                        return
                    await asyncio.sleep(self.think_seconds)
                    await handle.signal("review_response", self._decide(workflow_id, draft))
                    # The same interaction may hold a later draft: look again once it moves on.
                    await asyncio.sleep(self.poll_seconds)
            except RPCError:
                return  # closed meanwhile
            finally:
                self.stats.seen.discard(workflow_id)

    def _decide(self, workflow_id: str, draft: dict[str, object]) -> dict[str, object]:
        key = f"{workflow_id}:{draft['draft_id']}"
        decision = decision_for(key)
        reviewer = self._names[
            int(hashlib.sha256(key.encode()).hexdigest()[:4], 16) % len(self._names)
        ]
        body: dict[str, object] = {
            "draft_id": draft["draft_id"],
            "decision": decision,
            "reviewer_id": reviewer,
        }
        if decision == "approve":
            self.stats.approved += 1
        elif decision == "edit":
            self.stats.edited += 1
            body["edited_text"] = f"{draft['text']} Is there anything else I can help with?"
            body["reason"] = "added a closing question"
        else:
            self.stats.rejected += 1
            body["reason"] = "answer does not match the refund policy"
        return body
