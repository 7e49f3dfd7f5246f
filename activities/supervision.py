"""Side effects of supervision: evidence from the store, phase moves written as new policy
versions with their WFM event, the phase audit stream, and supervision records at close.

Every write is idempotent (move key, stream seq, interaction id), so Temporal's retries after a
lost acknowledgement never write a second policy version, event or review.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.facts import AuditEvent
from models.supervision import (
    RecordSupervision,
)
from models.supervision_phase import (
    EvidenceRequest,
    PhaseEventRecord,
    PhaseEvidence,
    PhaseMoveRequest,
    PhaseMoveResult,
)
from store.repository import Store


class HasStore(Protocol):
    """What supervision needs of the worker's dependencies (``InteractionDeps`` has it)."""

    @property
    def store(self) -> Store: ...


def bad_input(field: str, message: str) -> ApplicationError:
    """Input that retrying cannot fix: fail at once and name the field."""
    return ApplicationError(f"invalid {field}: {message}", type="InvalidInput", non_retryable=True)


class SupervisionActivities:
    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn
    async def gather_phase_evidence(self, request: EvidenceRequest) -> PhaseEvidence:
        """Read-only; safe to retry at any point."""
        if request.now < request.phase_started_at:
            raise bad_input("phase_started_at", "is after now")
        return await asyncio.to_thread(self.store.phase_evidence, request)

    @activity.defn
    async def apply_phase_move(self, move: PhaseMoveRequest) -> PhaseMoveResult:
        """New policy version + WFM event + audit entry in one transaction, once per key."""
        if move.from_phase == move.to_phase and move.kind.value in ("promotion", "demotion"):
            raise bad_input("to_phase", f"a {move.kind.value} must change the phase")
        return await asyncio.to_thread(self.store.apply_supervision_move, move)

    @activity.defn
    async def phase_stream_tail(self, stream: str) -> int:
        """Highest seq already on a phase stream, so a restarted intent continues its chain."""
        trail = await asyncio.to_thread(self.store.audit_trail, stream)
        return max((event.seq for event in trail), default=0)

    @activity.defn
    async def record_phase_event(self, record: PhaseEventRecord) -> int:
        """A proposal, sign-off, refusal, lapse or rejected signal; a retry is a no-op."""
        event = AuditEvent(
            stream=record.stream,
            seq=record.seq,
            kind=record.kind,
            at=record.at.isoformat(),
            actor=record.actor,
            payload=record.payload,
        )
        return await asyncio.to_thread(self.store.append_audit, [event])

    @activity.defn
    async def record_supervision(self, record: RecordSupervision) -> bool:
        """An interaction's supervision facts, reviews and overrides, once (at close)."""
        return await asyncio.to_thread(self.store.record_supervision, record)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.gather_phase_evidence,
            self.apply_phase_move,
            self.phase_stream_tail,
            self.record_phase_event,
            self.record_supervision,
        ]
