"""The health monitor rolls a failing version back on its own: once, fleet-wide.

Real parts: the dev server, the stack's workers (its health sync starts rollbacks with the
worker's client), the simulated fleet over loopback failing with HTTP 500, and a second
worker's health sync over the same store racing the first for the same opening. Whichever
commits the opening decides; the other sees an Open breaker and decides nothing. A worker that
dies between committing an opening and starting its rollback loses nothing: the opening's
outbox row outlives it, and the stack's worker takes it over once its lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from models.fleet import (
    FLEET_AUDIT_STREAM,
    RollbackInput,
    RollbackMode,
    RollbackState,
    rollback_workflow_id,
)
from models.health import FLEET_HEALTH_STREAM
from models.interaction import Reply
from models.routing import (
    LIVE_ROLES,
    AIEndpoint,
    AutoRollbackMode,
    AutoRollbackPolicy,
    EndpointRole,
    RoutingConfig,
    ThresholdRule,
)
from runtime.auto_rollback import AUTO_ROLLBACK_KIND, AutoRollback, AutoRollbackOutcome
from runtime.fleet_health import FleetHealth
from runtime.health_sync import HealthSync, HealthSyncConfig, breaker_config_from_settings
from runtime.rollback_start import start_rollback
from simulators.ai_fleet import FaultMode, FaultRule
from store.health import HealthStore, PendingRollback
from tests.integration.conftest import Stack
from tests.polling import eventually
from warmline.auto_rollback import BreakerOpened
from warmline.breaker import BreakerConfig
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION, fleet_endpoint_url
from warmline.registry import find, live_shares
from warmline.splitting import pick_weighted

pytestmark = pytest.mark.integration

CANARY = "2026.11"
WARM = "2026.09"
FAST = BreakerConfig(consecutive_failures=3, minimum_calls=5, open_seconds=1.0)
ORDER = "Where is my order? I placed it last week."
ROLLBACK_ID = rollback_workflow_id(CARE_BOT)
TIMEOUT_SECONDS = 30.0
MAX_VICTIMS = 6


@pytest.fixture
async def auto_stack(stack: Stack) -> AsyncIterator[Stack]:
    """Breakers that open within a couple of failures; no rollback left running afterwards."""
    stack.deps.health.configure(FAST)
    yield stack
    stack.deps.health.configure(breaker_config_from_settings(stack.settings))
    with contextlib.suppress(RPCError):
        await stack.client.get_workflow_handle(ROLLBACK_ID).terminate("test over")


def version(config: RoutingConfig, number: str, role: EndpointRole, weight: float) -> AIEndpoint:
    primary = find(config, CARE_BOT, CARE_BOT_VERSION)
    base_url = primary.url.split("/agents/")[0]
    return primary.model_copy(
        update={
            "version": number,
            "role": role,
            "weight": weight,
            "url": fleet_endpoint_url(base_url, CARE_BOT, number),
        }
    )


def care_bot_with(
    *extra: Callable[[RoutingConfig], AIEndpoint], policy: AutoRollbackPolicy
) -> Callable[[RoutingConfig], RoutingConfig]:
    """Every intent to AI; care-bot production plus ``extra`` versions; ``policy``."""

    def change(config: RoutingConfig) -> RoutingConfig:
        config = config.model_copy(
            update={
                "intent_map": {},
                "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
                "auto_rollback": policy,
            }
        )
        added = [make(config) for make in extra]
        return config.model_copy(update={"ai_endpoints": [*config.ai_endpoints, *added]})

    return change


def routed_to(config: RoutingConfig, target: str) -> str:
    """A fresh interaction id that care-bot's traffic split sends to ``target``."""
    live = sorted(
        (e for e in config.ai_endpoints if e.name == CARE_BOT and e.role in LIVE_ROLES),
        key=lambda e: e.version,
    )
    while True:
        iid = f"auto-{uuid.uuid4().hex[:12]}"
        chosen = pick_weighted(iid, live, lambda e: e.weight, salt=CARE_BOT)
        if chosen is not None and chosen.version == target:
            return iid


async def fail_until_open(stack: Stack, config: RoutingConfig, failing: str) -> list[Any]:
    """Customers routed to ``failing`` (which answers 500) until its breaker opens."""
    health, handles = stack.deps.health, []
    for _ in range(MAX_VICTIMS):
        handle = await stack.start(ORDER, interaction_id=routed_to(config, failing))
        handles.append(handle)
        await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)
        with contextlib.suppress(AssertionError):
            await eventually(lambda: health.state(CARE_BOT, failing) == "open", "open", timeout=2.0)
            return handles
    raise AssertionError(f"{failing} never opened after {MAX_VICTIMS} failing interactions")


async def close(handles: list[Any]) -> None:
    for handle in handles:
        await handle.signal("end_interaction", {"reason": "test over"})
        await handle.result()


def decisions(stack: Stack, endpoint: str) -> list[dict[str, Any]]:
    return [
        e.payload
        for e in stack.store.audit_trail(FLEET_AUDIT_STREAM)
        if e.kind == AUTO_ROLLBACK_KIND and e.payload["endpoint"] == endpoint
    ]


async def rollback_runs(stack: Stack, since: datetime) -> list[str]:
    query = f"WorkflowId = '{ROLLBACK_ID}' AND StartTime >= '{since.isoformat()}'"
    return [run.run_id async for run in stack.client.list_workflows(query)]


async def decided(stack: Stack, endpoint: str, before: int) -> dict[str, Any]:
    """The one automatic decision about ``endpoint`` since ``before`` (audited after the start)."""
    (decision,) = await eventually(
        lambda: decisions(stack, endpoint)[before:], "the decision's audit"
    )
    return dict(decision)


async def finished_rollback(stack: Stack, run_id: str) -> RollbackState:
    handle: WorkflowHandle[Any, RollbackState] = stack.client.get_workflow_handle(
        ROLLBACK_ID, run_id=run_id, result_type=RollbackState
    )
    return await asyncio.wait_for(handle.result(), timeout=TIMEOUT_SECONDS)


def shares(stack: Stack) -> tuple[dict[str, float], dict[str, EndpointRole]]:
    config = stack.store.active_routing_config()
    assert config is not None
    roles = {e.version: e.role for e in config.ai_endpoints if e.name == CARE_BOT}
    return live_shares(config, CARE_BOT), roles


@contextlib.asynccontextmanager
async def second_worker(stack: Stack) -> AsyncIterator[FleetHealth]:
    """Another worker's health view and sync over the same store, with its own auto-rollback."""
    health = FleetHealth(FAST, worker_id=f"second-worker-{uuid.uuid4().hex[:6]}")
    auto = AutoRollback(
        stack.client, stack.store, start_rollback, actor=f"health-monitor:{health.worker_id}"
    )
    sync = HealthSync(
        health,
        HealthStore(stack.store),
        HealthSyncConfig(flush_seconds=0.2),
        routing=stack.deps.configs.get,
        auto_rollback=auto,
    )
    task = asyncio.create_task(sync.run())
    try:
        await eventually(lambda: sync.syncs > 0, "the second worker's first sync")
        yield health
    finally:
        task.cancel()  # run() drains its automatic rollbacks before it returns
        with contextlib.suppress(asyncio.CancelledError):
            await task


def fail_calls(health: FleetHealth, failing: str, calls: int) -> None:
    """This worker's own calls to ``failing`` end in server errors."""
    for _ in range(calls):
        ticket = health.try_acquire(CARE_BOT, failing)
        if ticket is not None:
            health.release(ticket, success=False, kind="server_error")


async def test_a_failing_canary_is_rolled_back_to_production_once_fleet_wide(
    auto_stack: Stack,
) -> None:
    stack = auto_stack
    endpoint = f"{CARE_BOT}:{CANARY}"
    config = await stack.use_config(
        care_bot_with(
            lambda c: version(c, CANARY, EndpointRole.CANARY, 1.0),
            policy=AutoRollbackPolicy(),  # the default: instant
        )
    )
    since = datetime.now(UTC)
    before = len(decisions(stack, endpoint))
    stack.fleet.set_fault(FaultRule(name=CARE_BOT, version=CANARY, mode=FaultMode.ERROR_500))
    async with second_worker(stack) as other:
        # Both workers see the canary fail at once; each would open its breaker.
        victims_task = asyncio.create_task(fail_until_open(stack, config, CANARY))
        fail_calls(other, CANARY, FAST.consecutive_failures)
        victims = await victims_task
        decision = await decided(stack, endpoint, before)
        state = await finished_rollback(stack, decision["run_id"])
    # The second worker's sync has drained its automatic rollbacks: still one decision.
    assert len(decisions(stack, endpoint)[before:]) == 1
    assert decision["action"] == "rollback" and decision["outcome"] == "started"
    assert decision["request"]["from_version"] == CANARY
    assert decision["request"]["to_version"] == CARE_BOT_VERSION
    assert any("closed -> open" in r for r in decision["reasons"])
    assert await eventually(lambda: rollback_runs(stack, since), "the rollback in visibility")
    assert await rollback_runs(stack, since) == [decision["run_id"]]

    assert state.mode is RollbackMode.INSTANT and state.shifts_applied == 1
    assert state.plan is not None and state.plan.from_version == CANARY
    live, roles = shares(stack)
    assert live == {CARE_BOT_VERSION: 100.0} and roles[CANARY] is EndpointRole.RETIRED
    change = next(
        e
        for e in reversed(stack.store.audit_trail(FLEET_AUDIT_STREAM))
        if e.kind == "registry_change" and e.actor == f"rollback:{ROLLBACK_ID}"
    )
    assert change.payload["reason"].startswith("automatic instant rollback: breaker of")

    # An interaction the split used to send to the canary is answered by production.
    handle = await stack.start(ORDER, interaction_id=routed_to(config, CANARY))
    reply = await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)
    assert reply.model_version == f"{CARE_BOT}:{CARE_BOT_VERSION}"
    await close([*victims, handle])


async def test_failing_production_shifts_back_to_the_warm_version_gradually(
    auto_stack: Stack,
) -> None:
    stack = auto_stack
    endpoint = f"{CARE_BOT}:{CARE_BOT_VERSION}"
    policy = AutoRollbackPolicy(
        mode=AutoRollbackMode.GRADUATED, step_percent=50.0, interval_seconds=0.2
    )
    config = await stack.use_config(
        care_bot_with(lambda c: version(c, WARM, EndpointRole.ROLLBACK, 0.0), policy=policy)
    )
    since = datetime.now(UTC)
    before = len(decisions(stack, endpoint))
    stack.fleet.set_fault(
        FaultRule(name=CARE_BOT, version=CARE_BOT_VERSION, mode=FaultMode.ERROR_500)
    )
    victims = await fail_until_open(stack, config, CARE_BOT_VERSION)
    decision = await decided(stack, endpoint, before)
    assert decision["outcome"] == "started" and decision["request"]["mode"] == "graduated"
    assert any("kept warm as rollback" in r for r in decision["reasons"])
    state = await finished_rollback(stack, decision["run_id"])
    assert state.mode is RollbackMode.GRADUATED and state.shifts_applied == 2
    assert state.previous_shares == {CARE_BOT: {CARE_BOT_VERSION: 100.0, WARM: 0.0}}
    live, roles = shares(stack)
    assert live == {WARM: 100.0}
    assert roles[WARM] is EndpointRole.PRODUCTION
    assert roles[CARE_BOT_VERSION] is EndpointRole.RETIRED
    assert await eventually(lambda: rollback_runs(stack, since), "the rollback in visibility")
    assert await rollback_runs(stack, since) == [decision["run_id"]]
    assert len(decisions(stack, endpoint)[before:]) == 1

    handle = await stack.start(ORDER)
    reply = await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)
    assert reply.sender.value == "ai" and reply.model_version == f"{CARE_BOT}:{WARM}"
    await close([*victims, handle])


async def test_a_rollback_started_first_by_someone_else_counts_as_done(auto_stack: Stack) -> None:
    """Temporal refusing the start (an operator got there between our look and our start) is
    success; once the rollback runs, later openings of the agent are left to it."""
    stack = auto_stack
    await stack.use_config(
        care_bot_with(
            lambda c: version(c, CANARY, EndpointRole.CANARY, 1.0), policy=AutoRollbackPolicy()
        )
    )
    operator_runs: list[str] = []

    async def operator_first(client: Any, request: RollbackInput, memo: Any) -> Any:
        slow = request.model_copy(
            update={"mode": RollbackMode.GRADUATED, "intervals": 2, "interval_seconds": 3600.0}
        )
        handle = await start_rollback(client, slow.model_copy(update={"requested_by": "ops"}))
        operator_runs.append(str(handle.result_run_id))
        return await start_rollback(client, request, memo)

    auto = AutoRollback(stack.client, stack.store, operator_first, actor="health-monitor:test")
    opening = BreakerOpened(CARE_BOT, CANARY, "closed", revision=10_001, reasons=("test",))
    states = {(CARE_BOT, CANARY): "open"}
    (raced,) = await auto.handle([opening], states)
    assert raced.outcome == "already_running"
    assert raced.decision.action.value == "rollback" and raced.run_id == operator_runs[0]

    again = replace(opening, revision=10_002)
    (later,) = await auto.handle([again], states)
    assert later.outcome == "nothing_to_do" and len(operator_runs) == 1  # nothing started
    assert later.decision.reasons[-1] == f"{ROLLBACK_ID} is already running"
    audited = [
        d for d in decisions(stack, f"{CARE_BOT}:{CANARY}") if d["breaker_revision"] > 10_000
    ]
    assert [d["outcome"] for d in audited] == ["already_running", "nothing_to_do"]


class DiesBeforeStarting(AutoRollback):
    """A worker that dies right after its compare-and-set committed an opening: the in-memory
    hand-off to the rollback never happens (nor any take-over of its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost: list[BreakerOpened] = []

    def submit(
        self,
        opened: Sequence[BreakerOpened],
        states: Mapping[tuple[str, str], str],
        claimed_until: float | None = None,
    ) -> asyncio.Task[list[AutoRollbackOutcome]]:
        self.lost += opened
        return asyncio.create_task(self._nothing())

    def submit_claimed(
        self, pending: Sequence[PendingRollback], states: Mapping[tuple[str, str], str]
    ) -> asyncio.Task[list[AutoRollbackOutcome]]:
        return asyncio.create_task(self._nothing())

    @staticmethod
    async def _nothing() -> list[AutoRollbackOutcome]:
        return []


A = TypeVar("A", bound=AutoRollback)


async def die_after_opening(
    stack: Stack, auto_type: type[A], done: Callable[[A], Any]
) -> tuple[FleetHealth, A]:
    """A worker whose sync commits the opening of the failing canary (with a 1 s lease on
    its rollback) and which dies once ``done(its auto-rollback)``."""
    doomed = FleetHealth(FAST, worker_id=f"doomed-worker-{uuid.uuid4().hex[:6]}")
    auto = auto_type(
        stack.client, stack.store, start_rollback, actor=f"health-monitor:{doomed.worker_id}"
    )
    sync = HealthSync(
        doomed,
        HealthStore(stack.store),
        HealthSyncConfig(flush_seconds=0.2, rollback_lease_seconds=1.0),
        routing=stack.deps.configs.get,
        auto_rollback=auto,
    )
    task = asyncio.create_task(sync.run())
    try:
        await eventually(lambda: sync.syncs > 0, "the doomed worker's first sync")
        fail_calls(doomed, CANARY, FAST.consecutive_failures)
        await eventually(lambda: done(auto), "the doomed worker getting as far as it does")
    finally:
        task.cancel()  # the worker is gone; nothing it held in memory survives
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return doomed, auto


async def test_a_rollback_whose_deciding_worker_died_is_started_by_another_worker(
    auto_stack: Stack,
) -> None:
    stack = auto_stack
    endpoint = f"{CARE_BOT}:{CANARY}"
    config = await stack.use_config(
        care_bot_with(
            lambda c: version(c, CANARY, EndpointRole.CANARY, 1.0), policy=AutoRollbackPolicy()
        )
    )
    since = datetime.now(UTC)
    before = len(decisions(stack, endpoint))
    stack.fleet.set_fault(FaultRule(name=CARE_BOT, version=CANARY, mode=FaultMode.ERROR_500))
    outbox = HealthStore(stack.store)
    doomed, auto = await die_after_opening(stack, DiesBeforeStarting, lambda a: a.lost)
    (lost,) = auto.lost
    assert (lost.agent, lost.version) == (CARE_BOT, CANARY)
    transition = next(
        e
        for e in reversed(stack.store.audit_trail(FLEET_HEALTH_STREAM))
        if e.kind == "breaker_transition" and e.payload["endpoint"] == endpoint
    )
    assert transition.actor == doomed.worker_id and transition.payload["to_state"] == "open"

    # The stack's worker takes the opening over from the outbox once the lease lapses.
    decision = await decided(stack, endpoint, before)
    assert decision["action"] == "rollback" and decision["outcome"] == "started"
    assert decision["breaker_revision"] == lost.revision
    assert decision["request"]["to_version"] == CARE_BOT_VERSION
    state = await finished_rollback(stack, decision["run_id"])
    assert state.plan is not None and state.plan.from_version == CANARY
    assert await eventually(lambda: rollback_runs(stack, since), "the rollback in visibility")
    assert await rollback_runs(stack, since) == [decision["run_id"]]
    (row,) = [r for r in outbox.rollback_outbox() if r["opening"] == lost.key]
    assert row["done"] and row["outcome"] == "started"
    audited = [
        e
        for e in stack.store.audit_trail(FLEET_AUDIT_STREAM)
        if e.kind == AUTO_ROLLBACK_KIND and e.payload["endpoint"] == endpoint
    ][before:]
    assert len(audited) == 1
    assert audited[0].actor == f"health-monitor:{stack.deps.health.worker_id}"
    live, roles = shares(stack)
    assert live == {CARE_BOT_VERSION: 100.0} and roles[CANARY] is EndpointRole.RETIRED

    # An interaction the split used to send to the failing canary is answered by production.
    handle = await stack.start(ORDER, interaction_id=routed_to(config, CANARY))
    reply = await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)
    assert reply.model_version == f"{CARE_BOT}:{CARE_BOT_VERSION}"
    await close([handle])


class DiesBeforeAuditing(AutoRollback):
    """A worker that dies right after Temporal accepted its rollback: the decision is never
    audited, nor the outbox row closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: list[AutoRollbackOutcome] = []

    def _decided(self, opening: BreakerOpened, outcome: AutoRollbackOutcome) -> bool:
        self.started.append(outcome)
        return False


async def test_a_rollback_started_by_a_worker_that_died_before_auditing_is_audited_once(
    auto_stack: Stack,
) -> None:
    stack = auto_stack
    endpoint = f"{CARE_BOT}:{CANARY}"
    await stack.use_config(
        care_bot_with(
            lambda c: version(c, CANARY, EndpointRole.CANARY, 1.0), policy=AutoRollbackPolicy()
        )
    )
    since = datetime.now(UTC)
    before = len(decisions(stack, endpoint))
    doomed, auto = await die_after_opening(stack, DiesBeforeAuditing, lambda a: a.started)
    (unaudited,) = auto.started
    assert unaudited.outcome == "started" and unaudited.run_id
    assert decisions(stack, endpoint)[before:] == []

    # The stack's worker takes the opening over and finds the start in the run's memo: it
    # audits that start (whether the instant rollback still runs or is done), starts nothing.
    decision = await decided(stack, endpoint, before)
    assert decision["outcome"] == "started" and decision["run_id"] == unaudited.run_id
    assert decision["action"] == "rollback"
    assert decision["request"]["to_version"] == CARE_BOT_VERSION
    assert decision["reasons"][-1] == (
        f"started by health-monitor:{doomed.worker_id}, whose answer or audit was lost"
    )
    await finished_rollback(stack, unaudited.run_id)
    assert await eventually(lambda: rollback_runs(stack, since), "the rollback in visibility")
    assert await rollback_runs(stack, since) == [unaudited.run_id]
    assert len(decisions(stack, endpoint)[before:]) == 1
    opening = f"{endpoint}/r{decision['breaker_revision']}"
    (row,) = [r for r in HealthStore(stack.store).rollback_outbox() if r["opening"] == opening]
    assert row["done"] and row["outcome"] == "started"


async def test_a_start_whose_answer_was_lost_is_audited_as_that_start(auto_stack: Stack) -> None:
    """Temporal took the start but its answer never came: the retry is refused, and the run's
    memo shows it is this opening's rollback, so it is audited as started, not as someone
    else's already running one."""
    stack = auto_stack
    await stack.use_config(
        care_bot_with(
            lambda c: version(c, CANARY, EndpointRole.CANARY, 1.0), policy=AutoRollbackPolicy()
        )
    )
    runs: list[str] = []

    async def answer_lost(client: Any, request: RollbackInput, memo: Any) -> Any:
        handle = await start_rollback(client, request, memo)
        runs.append(str(handle.result_run_id))
        raise RPCError("connection reset before the answer", RPCStatusCode.UNAVAILABLE, b"")

    auto = AutoRollback(
        stack.client, stack.store, answer_lost, actor="health-monitor:test", first_backoff_seconds=0
    )
    opening = BreakerOpened(CARE_BOT, CANARY, "closed", revision=20_001, reasons=("test",))
    (outcome,) = await auto.handle([opening], {(CARE_BOT, CANARY): "open"})
    assert len(runs) == 1  # the retry was refused: one rollback
    assert outcome.outcome == "started" and outcome.run_id == runs[0]
    assert outcome.decision.action.value == "rollback"
    (audited,) = [
        d for d in decisions(stack, f"{CARE_BOT}:{CANARY}") if d["breaker_revision"] == 20_001
    ]
    assert audited["outcome"] == "started" and audited["run_id"] == runs[0]
    await finished_rollback(stack, runs[0])
