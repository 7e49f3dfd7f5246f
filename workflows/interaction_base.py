"""What every part of ``InteractionWorkflow`` shares: state, clocks, audit, constants.

The workflow is assembled from mixins (AI turns, hand-over, supervision) over this base so that each
capability reads on its own; all of them work on the one ``InteractionCarry``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from models.facts import AuditEvent
    from models.interaction import EscalationTrigger, Outcome, Reply, Sender, TranscriptEntry
    from models.interaction_state import InteractionCarry
    from models.routing import RoutingDecision
    from models.supervision import ReviewResponse

DECISION_TIMEOUT = timedelta(seconds=10)
AI_TURN_TIMEOUT = timedelta(seconds=60)
AI_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=4,
    non_retryable_error_types=["AIRequestRejected", "CircuitOpen"],
)
ACD_CALL_TIMEOUT = timedelta(seconds=10)
ACD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["AcdRejected"],
)
RECORD_TIMEOUT = timedelta(hours=24)
RECORD_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
RESERVATION_QUEUE_KEY = "queue"
# A failed local activity surfaces as its cause (not wrapped in ActivityError) once retries end.
LOCAL_ACTIVITY_FAILURES = (ActivityError, ApplicationError, ActivityTimeoutError)


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
    )


def invalid(what: str, error: ValidationError) -> ApplicationError:
    """Bad input cannot be fixed by retrying: fail at once and name the field."""
    return ApplicationError(
        f"invalid {what}: {describe(error)}", type="InvalidInput", non_retryable=True
    )


M = TypeVar("M", bound=BaseModel)


def signal_payload(model: type[M], payload: object, signal: str) -> M | None:
    """A signal's payload, or None (logged) when it is invalid: a signal has no caller to fail
    back to, and one bad message must not fail the customer's interaction."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        workflow.logger.warning("%s payload ignored: %s", signal, describe(exc))
        return None


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def priority_of(value: object) -> int:
    try:
        return min(9, max(0, int(str(value))))
    except (TypeError, ValueError):
        return 5


class InteractionBase:
    """State and bookkeeping; ``_escalate`` is provided by the hand-over mixin."""

    def __init__(self) -> None:
        self._c: InteractionCarry | None = None
        self._lock = asyncio.Lock()
        self._routed = False
        self._closing: Outcome | None = None
        self._activity = 0
        # Shadow calls run beside the conversation; the close waits for them, never a turn.
        self._shadows: list[asyncio.Future[None]] = []
        # Review decisions arrive by signal at any time; a held turn takes its own by draft id.
        self._review_inbox: dict[str, ReviewResponse] = {}

    @property
    def c(self) -> InteractionCarry:
        assert self._c is not None
        return self._c

    def _now(self) -> str:
        return workflow.now().isoformat()

    def _touch(self) -> None:
        self.c.last_activity_at = self._now()
        self._activity += 1

    # -- bookkeeping ------------------------------------------------------------------
    def _append(self, turn: int, sender: Sender, safe_text: str) -> None:
        self.c.transcript.append(
            TranscriptEntry(turn=turn, sender=sender, text=safe_text, at=self._now())
        )

    def _audit(self, kind: str, payload: dict[str, Any], actor: str = "warmline") -> None:
        c = self.c
        c.audit_seq += 1
        c.pending_audit.append(
            AuditEvent(
                stream=workflow.info().workflow_id,
                seq=c.audit_seq,
                kind=kind,
                at=self._now(),
                actor=actor,
                payload=payload,
            )
        )

    def _record_decision(self, decision: RoutingDecision, extra: list[str], **detail: Any) -> None:
        entry: dict[str, Any] = {
            "kind": "routing",
            "at": self._now(),
            "route": decision.route.value,
            "pattern": decision.pattern.value,
            "intent": decision.intent,
            "confidence": decision.confidence,
            "channel": decision.channel.value,
            "config_version": decision.config_version,
            "ai_endpoint": (
                f"{decision.ai_endpoint.name}:{decision.ai_endpoint.version}"
                if decision.ai_endpoint
                else None
            ),
            "human_queue": decision.human_queue,
            "reasons": [*extra, *decision.reasons],
            **detail,
        }
        self.c.decisions.append(entry)
        self._audit("routing_decision", entry)

    async def _escalate(self, trigger: EscalationTrigger, detail: str) -> Reply:
        raise NotImplementedError
