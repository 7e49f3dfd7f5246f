"""Starting the ``RollbackWorkflow`` the health monitor decided on, once fleet-wide.

``HealthSync`` hands over the openings its own compare-and-set committed: no other worker
sees them, so each opening is decided by exactly one worker. Here the registry is read fresh
from the store, the running rollbacks of the agent are asked of Temporal, the pure policy
(``warmline.auto_rollback``) decides, the workflow is started, and the decision with its
reasons and what became of it is audited on the ``fleet`` stream once per opening. Temporal
refusing the start because the rollback already runs is success: someone (an operator, or
this worker's earlier attempt) already did what was decided. The start carries the opening and
its decision in the workflow's memo: a worker that dies after starting but before auditing
leaves the start where the next worker looks (the latest run of ``rollback-<agent>``), which
then audits it as ``started``, so the trail holds one ``started`` per rollback either way.

Durable, through an outbox rather than a periodic reconciliation of every Open breaker. The
opening commits an ``auto_rollback_outbox`` row in the compare-and-set's own transaction,
already claimed by the opening worker for a lease, and that worker starts the rollback at
once from memory, as fast as without the row. Deciding closes the row and audits the decision
in one transaction. If the worker dies anywhere before that, the row outlives it: when the
lease lapses every worker's health sync may claim it (one wins) and decides it the same way;
an attempt that cannot reach Temporal hands the claim back with a growing delay
(``retry_delay``), so an outage delays a rollback but never drops it. Why not reconciliation:
the policy is a decision about an *opening* (one audited decision per opening, "nothing to
do" included), and a breaker that stays Open after its rollback (a failover to humans, an
operator who aborted the rollback) would be rolled back again on every pass; the row records
exactly which openings still await their decision, as the WFM outbox does for its events.

All of it runs in a background task, never inside the sync: a slow or unreachable Temporal
must not delay the breaker decisions that routing depends on. Within one claim transport
errors are retried with backoff while the lease leaves room (``another_try_fits``), so another
worker takes an opening over only from a worker that stopped trying; should a stalled worker
still finish after that, the row keeps the first decision and the later one is not audited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
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
from store.health import HealthStore, PendingRollback
from store.repository import Store
from warmline.auto_rollback import (
    BreakerOpened,
    RunningRollback,
    another_try_fits,
    decide_auto_rollback,
    retry_delay,
)

log = logging.getLogger("warmline.health")

AUTO_ROLLBACK_KIND = "auto_rollback"
RPC_TIMEOUT = timedelta(seconds=5)
QUERY_TIMEOUT = timedelta(seconds=2)
ATTEMPTS = 7
"""Transport retries 0.5, 1, 2 ... 16 s apart within one claim (while its lease leaves room);
then the claim goes back to the outbox for a later attempt by any worker."""
FIRST_BACKOFF_SECONDS = 0.5
MAX_RETRY_SECONDS = 300.0
"""Longest pause between two claims of an opening Temporal keeps refusing."""
CALL_SECONDS = 2 * RPC_TIMEOUT.total_seconds()
"""What one more try may take (a look at the running rollbacks, or a start)."""
DRAIN_SECONDS = 5.0

AUTO_ROLLBACK_MEMO = "auto_rollback"
"""Memo key of an automatic rollback: its opening (``BreakerOpened.key``), actor, decision."""

T = TypeVar("T")
StartRollback = Callable[
    [Client, RollbackInput, Mapping[str, Any]], Awaitable[WorkflowHandle[Any, Any]]
]
"""``runtime.rollback_start.start_rollback``: the client, the request, the workflow's memo."""


@dataclass(frozen=True)
class AutoRollbackOutcome:
    """One opening handled: the decision, and ``started`` | ``already_running`` |
    ``nothing_to_do`` (audited, the outbox row closed) or ``retry`` (Temporal unreachable:
    not audited, the row handed back for a later attempt)."""

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
        max_retry_seconds: float = MAX_RETRY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._store = store
        self._outbox = HealthStore(store)
        self._start = start
        self._actor = actor
        self._first_backoff = first_backoff_seconds
        self._max_retry = max_retry_seconds
        self._clock = clock
        self._tasks: set[asyncio.Task[list[AutoRollbackOutcome]]] = set()

    # -- from the sync ---------------------------------------------------------------------------
    def submit(
        self,
        opened: Sequence[BreakerOpened],
        states: Mapping[tuple[str, str], str],
        claimed_until: float | None = None,
    ) -> asyncio.Task[list[AutoRollbackOutcome]]:
        """Handle ``opened`` in the background (the sync goes on at once); ``claimed_until``
        is when this worker's claim on their outbox rows lapses."""
        return self._spawn(self.handle(opened, states, claimed_until))

    def submit_claimed(
        self, pending: Sequence[PendingRollback], states: Mapping[tuple[str, str], str]
    ) -> asyncio.Task[list[AutoRollbackOutcome]]:
        """Handle outbox rows this worker claimed (their opener died, or a retry is due)."""
        return self._spawn(self._handle_claimed(pending, states))

    def _spawn(
        self, work: Awaitable[list[AutoRollbackOutcome]]
    ) -> asyncio.Task[list[AutoRollbackOutcome]]:
        task = asyncio.ensure_future(work)
        task.set_name("warmline-auto-rollback")
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
        self,
        opened: Sequence[BreakerOpened],
        states: Mapping[tuple[str, str], str],
        claimed_until: float | None = None,
        attempts: int = 0,
    ) -> list[AutoRollbackOutcome]:
        """Decide each opening, start what is decided, then close its outbox row: with the
        audited decision, or handed back for a retry. ``claimed_until`` None: no lease to
        respect (an opening handed over without a row, as in tests)."""
        registry = await asyncio.to_thread(self._store.active_routing_config)
        outcomes = []
        for opening in opened:
            if registry is None:
                # No registry yet: no version can take traffic to roll back.
                await asyncio.to_thread(self._outbox.rollback_decided, opening.key, "nothing_to_do")
                continue
            outcome = await self._one(opening, registry, states, claimed_until)
            if outcome.outcome == "retry":
                delay = retry_delay(attempts, self._first_backoff, self._max_retry)
                await asyncio.to_thread(
                    self._outbox.rollback_failed,
                    opening.key,
                    outcome.error or "",
                    self._clock() + delay,
                )
                log.error(
                    "automatic rollback for %s not started: %s; again in %.0f s",
                    opening.endpoint,
                    outcome.error,
                    delay,
                )
            else:
                await asyncio.to_thread(self._decided, opening, outcome)
            outcomes.append(outcome)
        return outcomes

    async def _handle_claimed(
        self, pending: Sequence[PendingRollback], states: Mapping[tuple[str, str], str]
    ) -> list[AutoRollbackOutcome]:
        outcomes = []
        for row in pending:
            opening = BreakerOpened(
                row.name, row.version, row.from_state, row.revision, row.reasons
            )
            log.warning(
                "automatic rollback for %s taken over from the outbox (attempt %d)",
                opening.endpoint,
                row.attempts + 1,
            )
            outcomes += await self.handle([opening], states, row.claimed_until, row.attempts)
        return outcomes

    async def _one(
        self,
        opening: BreakerOpened,
        registry: RoutingConfig,
        states: Mapping[tuple[str, str], str],
        claimed_until: float | None,
    ) -> AutoRollbackOutcome:
        try:
            running, earlier = await self._retrying(
                opening, lambda: self._look(opening), claimed_until
            )
        except RPCError as err:
            unknown = AutoRollbackDecision(
                endpoint=opening.endpoint,
                breaker_revision=opening.revision,
                action=AutoRollbackAction.NONE,
                reasons=[f"Temporal unreachable, running rollbacks unknown: {err}"],
            )
            return AutoRollbackOutcome(unknown, "retry", error=str(err))
        if earlier is not None:
            return earlier
        decision = decide_auto_rollback(opening, registry, states, running)
        request = decision.request
        if decision.action is AutoRollbackAction.NONE or request is None:
            return AutoRollbackOutcome(decision, "nothing_to_do")
        memo = {
            AUTO_ROLLBACK_MEMO: {
                "opening": opening.key,
                "actor": self._actor,
                "decision": decision.model_dump(mode="json"),
            }
        }
        try:
            handle = await self._retrying(
                opening, lambda: self._start(self._client, request, memo), claimed_until
            )
        except WorkflowAlreadyStartedError as err:
            # Started between our look and our start: by an attempt for this very opening (our
            # own whose answer was lost, or a worker's whose claim lapsed), which is the start
            # to audit; else by an operator, and the rollback runs, which is what was decided.
            ours = await self._started_for_running(opening, decision.workflow_id)
            return ours or AutoRollbackOutcome(decision, "already_running", run_id=err.run_id)
        except RPCError as err:
            return AutoRollbackOutcome(decision, "retry", error=str(err))
        log.warning(
            "automatic %s of %s: %s started (%s)",
            decision.action.value,
            decision.endpoint,
            decision.workflow_id,
            decision.reasons[-1],
        )
        return AutoRollbackOutcome(decision, "started", run_id=handle.result_run_id)

    async def _retrying(
        self,
        opening: BreakerOpened,
        call: Callable[[], Awaitable[T]],
        claimed_until: float | None,
    ) -> T:
        """``call()``, retried with backoff while Temporal cannot be reached and the claim
        on the opening leaves room for another try."""
        backoff = self._first_backoff
        for number in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except RPCError as err:
                if number == ATTEMPTS or (
                    claimed_until is not None
                    and not another_try_fits(self._clock(), backoff, CALL_SECONDS, claimed_until)
                ):
                    raise
                log.warning("automatic rollback for %s: %s; retrying", opening.endpoint, err)
                await asyncio.sleep(backoff)
                backoff *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _look(
        self, opening: BreakerOpened
    ) -> tuple[list[RunningRollback], AutoRollbackOutcome | None]:
        """The rollback of the opening's agent and the failover of every agent, if running
        now; and the start an earlier attempt made for this very opening, if there was one."""
        found, earlier = [], None
        for candidate in (opening.agent, None):
            workflow_id = rollback_workflow_id(candidate)
            handle = self._client.get_workflow_handle(workflow_id)
            try:
                description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
            except RPCError as err:
                if err.status is RPCStatusCode.NOT_FOUND:
                    continue
                raise
            earlier = earlier or await self._started_for(opening, description)
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
        return found, earlier

    async def _started_for_running(
        self, opening: BreakerOpened, workflow_id: str | None
    ) -> AutoRollbackOutcome | None:
        """``_started_for`` on the run that refused our start (one more look, only then)."""
        if workflow_id is None:
            return None
        try:
            handle = self._client.get_workflow_handle(workflow_id)
            description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError:  # "already running" stays true without the memo's detail
            return None
        return await self._started_for(opening, description)

    @staticmethod
    async def _started_for(
        opening: BreakerOpened, description: WorkflowExecutionDescription
    ) -> AutoRollbackOutcome | None:
        """``started``, when the run's memo names ``opening``: an attempt started it and its
        audit never came (the worker died, or the start's answer was lost); running or
        finished, it is the opening's one rollback."""
        try:
            memo = await description.memo_value(AUTO_ROLLBACK_MEMO, None)
        except Exception:  # a memo this code did not write (or cannot read) is not ours
            log.debug("unreadable memo on %s", description.id, exc_info=True)
            return None
        if not isinstance(memo, dict) or memo.get("opening") != opening.key:
            return None
        decision = AutoRollbackDecision.model_validate(memo["decision"])
        note = f"started by {memo.get('actor')}, whose answer or audit was lost"
        decision = decision.model_copy(update={"reasons": [*decision.reasons, note]})
        return AutoRollbackOutcome(decision, "started", run_id=description.run_id)

    def _decided(self, opening: BreakerOpened, outcome: AutoRollbackOutcome) -> bool:
        """Audit the decision and close the opening's outbox row, in one transaction."""
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
        return self._outbox.rollback_decided(
            opening.key,
            outcome.outcome,
            event,
            audit_key(outcome.decision, self._actor),
        )
