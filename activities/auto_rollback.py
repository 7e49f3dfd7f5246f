"""Starting the ``RollbackWorkflow`` the health monitor decided on, once fleet-wide.

``HealthSync`` hands over the openings its own compare-and-set committed: no other worker
sees them, so each opening is decided by exactly one worker. Here the registry is read fresh
from the store, the running rollbacks of the agent are asked of Temporal, the pure policy
(``warmline.auto_rollback``) decides, the workflow is started, and the decision with its
reasons and what became of it is audited on the ``fleet`` stream once per opening. Temporal
refusing the start because the rollback already runs is success: someone (an operator, or
this worker's earlier attempt) already did what was decided.

All of it runs in a background task, never inside the sync: a slow or unreachable Temporal
must not delay the breaker decisions that routing depends on. Transport errors are retried
with backoff for about a minute, then audited as failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.facts import AuditEvent
from models.fleet import (
    FLEET_AUDIT_STREAM,
    AutoRollbackAction,
    AutoRollbackDecision,
    RollbackInput,
    RollbackState,
    rollback_workflow_id,
)
from models.routing import RoutingConfig
from store.repository import Store
from warmline.auto_rollback import BreakerOpened, RunningRollback, decide_auto_rollback

log = logging.getLogger("warmline.health")

AUTO_ROLLBACK_KIND = "auto_rollback"
RPC_TIMEOUT = timedelta(seconds=5)
QUERY_TIMEOUT = timedelta(seconds=2)
ATTEMPTS = 7
"""Transport retries 0.5, 1, 2 ... 16 s apart: about a minute before giving up."""
FIRST_BACKOFF_SECONDS = 0.5
DRAIN_SECONDS = 5.0

T = TypeVar("T")
StartRollback = Callable[[Client, RollbackInput], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass(frozen=True)
class AutoRollbackOutcome:
    """One opening handled: the decision, and ``started`` | ``already_running`` |
    ``nothing_to_do`` | ``failed``."""

    decision: AutoRollbackDecision
    outcome: str
    run_id: str | None = None
    error: str | None = None


def audit_key(decision: AutoRollbackDecision, actor: str) -> str:
    """Once per opening and deciding worker: a retried write is a no-op, while a second worker
    deciding the same opening (which the compare-and-set rules out) would show in the trail."""
    return f"auto-rollback/{decision.endpoint}/r{decision.breaker_revision}/{actor}"


class AutoRollback:
    def __init__(
        self,
        client: Client,
        store: Store,
        start: StartRollback,
        *,
        actor: str = "health-monitor",
        first_backoff_seconds: float = FIRST_BACKOFF_SECONDS,
    ) -> None:
        self._client = client
        self._store = store
        self._start = start
        self._actor = actor
        self._first_backoff = first_backoff_seconds
        self._tasks: set[asyncio.Task[list[AutoRollbackOutcome]]] = set()

    # -- from the sync ---------------------------------------------------------------------------
    def submit(
        self, opened: Sequence[BreakerOpened], states: Mapping[tuple[str, str], str]
    ) -> asyncio.Task[list[AutoRollbackOutcome]]:
        """Handle ``opened`` in the background (the sync goes on at once)."""
        task = asyncio.create_task(self.handle(opened, states), name="warmline-auto-rollback")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[list[AutoRollbackOutcome]]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("automatic rollback failed", exc_info=task.exception())

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """On shutdown: let started work finish briefly, then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    # -- the work ---------------------------------------------------------------------------------
    async def handle(
        self, opened: Sequence[BreakerOpened], states: Mapping[tuple[str, str], str]
    ) -> list[AutoRollbackOutcome]:
        registry = await asyncio.to_thread(self._store.active_routing_config)
        if registry is None:
            return []  # no registry yet: no version can take traffic to roll back
        outcomes = []
        for opening in opened:
            outcome = await self._one(opening, registry, states)
            await asyncio.to_thread(self._audit, outcome)
            outcomes.append(outcome)
        return outcomes

    async def _one(
        self,
        opening: BreakerOpened,
        registry: RoutingConfig,
        states: Mapping[tuple[str, str], str],
    ) -> AutoRollbackOutcome:
        try:
            running = await self._retrying(opening, lambda: self._running(opening.agent))
        except RPCError as err:
            unknown = AutoRollbackDecision(
                endpoint=opening.endpoint,
                breaker_revision=opening.revision,
                action=AutoRollbackAction.NONE,
                reasons=[f"Temporal unreachable, running rollbacks unknown: {err}"],
            )
            return AutoRollbackOutcome(unknown, "failed", error=str(err))
        decision = decide_auto_rollback(opening, registry, states, running)
        request = decision.request
        if decision.action is AutoRollbackAction.NONE or request is None:
            return AutoRollbackOutcome(decision, "nothing_to_do")
        try:
            handle = await self._retrying(opening, lambda: self._start(self._client, request))
        except WorkflowAlreadyStartedError as err:
            # Started between our look and our start (an operator, or our own attempt whose
            # answer was lost): the rollback runs, which is what was decided.
            return AutoRollbackOutcome(decision, "already_running", run_id=err.run_id)
        except RPCError as err:
            log.error("automatic rollback for %s not started: %s", opening.endpoint, err)
            return AutoRollbackOutcome(decision, "failed", error=str(err))
        log.warning(
            "automatic %s of %s: %s started (%s)",
            decision.action.value,
            decision.endpoint,
            decision.workflow_id,
            decision.reasons[-1],
        )
        return AutoRollbackOutcome(decision, "started", run_id=handle.result_run_id)

    async def _retrying(self, opening: BreakerOpened, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, retried with backoff while Temporal cannot be reached."""
        backoff = self._first_backoff
        for number in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except RPCError as err:
                if number == ATTEMPTS:
                    raise
                log.warning("automatic rollback for %s: %s; retrying", opening.endpoint, err)
                await asyncio.sleep(backoff)
                backoff *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _running(self, agent: str) -> list[RunningRollback]:
        """The rollback of ``agent`` and the failover of every agent, if running now."""
        found = []
        for candidate in (agent, None):
            workflow_id = rollback_workflow_id(candidate)
            handle = self._client.get_workflow_handle(workflow_id)
            try:
                description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
            except RPCError as err:
                if err.status is RPCStatusCode.NOT_FOUND:
                    continue
                raise
            if description.status is not WorkflowExecutionStatus.RUNNING:
                continue
            to_version = None
            try:
                state = await handle.query(
                    "status", result_type=RollbackState, rpc_timeout=QUERY_TIMEOUT
                )
                to_version = state.plan.to_version if state.plan else None
            except (RPCError, WorkflowQueryFailedError):
                pass  # running is what matters; the target only makes the reason precise
            found.append(RunningRollback(workflow_id, candidate, to_version))
        return found

    def _audit(self, outcome: AutoRollbackOutcome) -> bool:
        payload = {
            **outcome.decision.model_dump(mode="json"),
            "outcome": outcome.outcome,
            "run_id": outcome.run_id,
            "error": outcome.error,
        }
        event = AuditEvent(
            stream=FLEET_AUDIT_STREAM,
            seq=0,  # the store numbers shared streams
            kind=AUTO_ROLLBACK_KIND,
            at=datetime.now(UTC).isoformat(),
            actor=self._actor,
            payload=payload,
        )
        return self._store.record_fleet_event(event, audit_key(outcome.decision, self._actor))
