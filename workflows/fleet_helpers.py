"""What the fleet workflows share: activity options, rejected signals, registry changes.

Kept out of the workflow classes so each ``run()`` reads as its lifecycle. Everything here runs
inside workflow code and is deterministic.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.fleet import FleetActivities
    from models.boundary import RejectedPayload
    from models.fleet import (
        ApplyRegistryChange,
        FleetAuditEvent,
        ReadRegistry,
        RegistryChange,
        RegistryChangeResult,
        RegistryView,
    )
    from workflows import boundary

ModelT = TypeVar("ModelT", bound=BaseModel)

REGISTRY_TIMEOUT = timedelta(seconds=30)
"""One registry change or read: a store transaction, retried on conflicts inside."""
OBSERVE_TIMEOUT = timedelta(minutes=2)
"""One metrics poll: reads a rollout's facts and runs the analysis."""
AUDIT_TIMEOUT = timedelta(seconds=30)
REGISTRY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["RegistryError"],
)
"""Until the store answers: a rollback or a promotion must not be lost to a blip."""
OBSERVE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
)
"""A poll that keeps failing is skipped; the next poll reads the same facts."""


class RejectedSignals:
    """Signals whose payload was rejected, kept until the run loop audits them.

    Handlers stay synchronous and only queue (an activity awaited in a handler would race the
    run's continue-as-new); the loop calls ``audit`` and counts this as pending work, so a
    rejection is on the ``fleet`` audit stream before the run moves on.
    """

    def __init__(self) -> None:
        self._queue: list[tuple[str, RejectedPayload]] = []
        self._audited = 0

    def __bool__(self) -> bool:
        return bool(self._queue)

    def accept(
        self, payload: ModelT | RejectedPayload | None, model: type[ModelT], signal: str
    ) -> ModelT | None:
        """The signal's command, or None when it was rejected (then queued for the audit)."""
        command = boundary.accept(payload, model, signal)
        if isinstance(command, RejectedPayload):
            self._queue.append((signal, command))
            return None
        return command

    async def audit(self) -> None:
        info = workflow.info()
        while self._queue:
            signal, rejected = self._queue.pop(0)
            self._audited += 1
            await audit(
                f"{info.workflow_id}/{info.run_id}/rejected-{self._audited}",
                "signal_rejected",
                f"signal:{signal}",
                {
                    "workflow_id": info.workflow_id,
                    "run_id": info.run_id,
                    "signal": signal,
                    **rejected.model_dump(),
                },
            )


def key_prefix() -> str:
    """Idempotency keys survive continue-as-new (first run id) but differ between rollouts
    that reuse a workflow id."""
    info = workflow.info()
    return f"{info.workflow_id}/{info.first_execution_run_id}"


def now() -> str:
    return workflow.now().isoformat()


async def apply_registry_change(
    change_id: str, actor: str, reason: str, changes: list[RegistryChange]
) -> RegistryChangeResult:
    return await workflow.execute_activity_method(
        FleetActivities.apply_registry_change,
        ApplyRegistryChange(change_id=change_id, actor=actor, reason=reason, changes=changes),
        start_to_close_timeout=REGISTRY_TIMEOUT,
        retry_policy=REGISTRY_RETRY,
    )


async def read_registry(agent: str | None) -> RegistryView:
    return await workflow.execute_activity_method(
        FleetActivities.read_registry,
        ReadRegistry(agent=agent),
        start_to_close_timeout=REGISTRY_TIMEOUT,
        retry_policy=REGISTRY_RETRY,
    )


async def audit(key: str, kind: str, actor: str, payload: dict[str, object]) -> None:
    await workflow.execute_activity_method(
        FleetActivities.record_fleet_event,
        FleetAuditEvent(key=key, kind=kind, actor=actor, at=now(), payload=payload),
        start_to_close_timeout=AUDIT_TIMEOUT,
        retry_policy=REGISTRY_RETRY,
    )


class PollClock:
    """A steady poll timer that a signal never cancels.

    ``wait_condition(..., timeout=...)`` cancels its timer when a signal wakes it first. On
    Temporal's time-skipping test server a cancel that races the timer's firing strands the run
    ("invalid history builder state for action", temporalio/sdk-java#3088), and on any server
    it would restart the poll cadence with every signal. So the poll timer runs on its own and
    signals are handled while it keeps ticking.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._timer: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Start the next period unless one is already running."""
        if self._timer is None:
            self._timer = asyncio.ensure_future(workflow.sleep(self._seconds))

    def fired(self) -> bool:
        return self._timer is not None and self._timer.done()

    def take(self) -> bool:
        """True (once) if the period ended; the next ``start`` begins a new one."""
        if not self.fired():
            return False
        self._timer = None
        return True
