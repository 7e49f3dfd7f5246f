"""Side effects of ``RetentionWorkflow``: checkpoint, plan, compact, purge a batch, audit.

Each is idempotent: a checkpoint covers only rows no checkpoint covers yet, a purge batch
deletes what is still past its cutoff (a retry finds less or nothing), and compaction and the
run's own audit record are written once per run id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from models.retention import (
    CompactRequest,
    PlanRequest,
    PurgeBatch,
    PurgeCount,
    PurgeRecord,
    RetentionPlan,
)
from store.audit_checkpoints import take_checkpoint
from store.repository import Store
from store.retention import RetentionStore


class RetentionActivities:
    def __init__(self, store: Store, signing_key: bytes) -> None:
        self._store = store
        self._retention = RetentionStore(store)
        self._signing_key = signing_key

    @activity.defn
    async def take_checkpoint(self) -> int | None:
        """Sign what was appended since the last checkpoint; the seq, or None if nothing was."""
        store = self._store
        taken = await asyncio.to_thread(
            take_checkpoint,
            store.engine,
            self._signing_key,
            datetime.now(UTC),
            store.session_info,
        )
        return taken.seq if taken else None

    @activity.defn
    async def plan_retention(self, request: PlanRequest) -> RetentionPlan:
        now = datetime.fromisoformat(request.now)
        return await asyncio.to_thread(self._retention.expected_plan, now)

    @activity.defn
    async def compact_audit(self, request: CompactRequest) -> bool:
        return await asyncio.to_thread(
            self._retention.compact_audit, request.anchor, request.run_id
        )

    @activity.defn
    async def purge_batch(self, batch: PurgeBatch) -> PurgeCount:
        return await asyncio.to_thread(self._retention.purge_batch, batch)

    @activity.defn
    async def record_purge(self, record: PurgeRecord) -> bool:
        return await asyncio.to_thread(self._retention.record_purge, record)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.take_checkpoint,
            self.plan_retention,
            self.compact_audit,
            self.purge_batch,
            self.record_purge,
        ]
