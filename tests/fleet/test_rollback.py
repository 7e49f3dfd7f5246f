"""RollbackWorkflow: graduated, instant and failover to human, against the real registry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from models.fleet import (
    FLEET_AUDIT_STREAM,
    WFM_EVENT_STREAM,
    RollbackInput,
    RollbackMode,
    RollbackPhase,
    RollbackState,
    SetCanaryShare,
    WFMEventKind,
)
from models.interaction import Pool
from models.routing import EndpointRole, RoutingConfig
from runtime.rollback_start import start_rollback
from tests.fleet.conftest import CANARY_VERSION, FleetStack
from warmline.default_config import BILLING_BOT, CARE_BOT, CARE_BOT_VERSION
from warmline.registry import apply_change, find, live_shares

pytestmark = pytest.mark.integration

INTERVAL = 60.0
RESULT_TIMEOUT_SECONDS = 30.0


def canary_at(percent: float) -> Any:
    def change(config: RoutingConfig) -> RoutingConfig:
        return apply_change(
            config, SetCanaryShare(agent=CARE_BOT, version=CANARY_VERSION, percent=percent)
        )[0]

    return change


async def finished(handle: WorkflowHandle[Any, RollbackState]) -> RollbackState:
    return await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT_SECONDS)


def canary_share(stack: FleetStack) -> float:
    config = stack.store.active_routing_config()
    assert config is not None
    return live_shares(config, CARE_BOT).get(CANARY_VERSION, 0.0)


async def test_graduated_rollback_reaches_zero_in_the_configured_intervals(
    stack: FleetStack,
) -> None:
    await stack.use_config(canary_at(50))
    handle = await start_rollback(
        stack.client,
        RollbackInput(
            mode=RollbackMode.GRADUATED,
            agent=CARE_BOT,
            intervals=4,
            interval_seconds=INTERVAL,
            requested_by="ops",
            reason="canary answers look wrong",
        ),
    )
    started = await stack.env.get_current_time()
    shares = []
    for _ in range(4):
        await stack.env.sleep(INTERVAL / 2)
        shares.append(canary_share(stack))
        await stack.env.sleep(INTERVAL / 2)
    state = await finished(handle)

    assert shares == pytest.approx([37.5, 25.0, 12.5, 0.0])
    assert state.phase is RollbackPhase.DONE and state.shifts_applied == 4
    assert state.plan is not None
    assert (state.plan.from_version, state.plan.to_version) == (CANARY_VERSION, CARE_BOT_VERSION)
    assert len(set(state.config_versions)) == 4
    assert state.finished_at is not None
    took = (await stack.env.get_current_time() - started).total_seconds()
    assert took >= 3 * INTERVAL, "three waits between four shifts"
    config = stack.store.active_routing_config()
    assert config is not None
    assert find(config, CARE_BOT, CANARY_VERSION).role is EndpointRole.RETIRED
    assert live_shares(config, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
    authors = [
        e.actor
        for e in stack.store.audit_trail(FLEET_AUDIT_STREAM)
        if e.kind == "registry_change" and handle.id in e.actor
    ]
    assert len(authors) == 4
    await stack.record("rollback_graduated", handle, save=True)


async def test_instant_rollback_returns_production_to_the_warm_version(stack: FleetStack) -> None:
    def promoted(config: RoutingConfig) -> RoutingConfig:
        from models.fleet import PromoteCanary

        return apply_change(config, PromoteCanary(agent=CARE_BOT, version=CANARY_VERSION))[0]

    await stack.use_config(promoted)
    handle = await start_rollback(
        stack.client, RollbackInput(mode=RollbackMode.INSTANT, agent=CARE_BOT)
    )
    state = await finished(handle)
    assert state.shifts_applied == 1
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
    assert find(config, CARE_BOT, CARE_BOT_VERSION).role is EndpointRole.PRODUCTION
    assert find(config, CARE_BOT, CANARY_VERSION).role is EndpointRole.RETIRED


async def test_failover_to_human_routes_to_people_and_tells_wfm(stack: FleetStack) -> None:
    await stack.drive("before-failover", 3)
    handle = await start_rollback(
        stack.client,
        RollbackInput(
            mode=RollbackMode.FAILOVER_TO_HUMAN,
            agents=[CARE_BOT],
            reason="vendor outage",
            expected_duration_minutes=30,
        ),
    )
    state = await finished(handle)
    assert state.previous_shares == {CARE_BOT: {CARE_BOT_VERSION: 100.0}}
    assert state.wfm_event is not None
    assert state.wfm_event.kind is WFMEventKind.AI_FAILOVER_TO_HUMAN
    # At least the three just driven (earlier tests may add to the 15-minute look-back).
    assert state.wfm_event.ai_interactions_per_minute >= 3 / 15
    events = stack.store.audit_trail(WFM_EVENT_STREAM)
    assert [e.kind for e in events][-1] == "ai_failover_to_human"
    assert events[-1].payload["expected_duration_minutes"] == 30
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {}
    assert live_shares(config, BILLING_BOT), "other agents keep their AI traffic"
    (result,) = await stack.drive("after-failover", 1)
    assert result.pool is Pool.HUMAN_ONLY and result.model_version is None
    await stack.record("rollback_failover", handle, save=True)


async def test_a_rollback_without_a_warm_version_is_refused_naming_why(
    stack: FleetStack,
) -> None:
    from temporalio.client import WorkflowFailureError

    handle = await start_rollback(
        stack.client, RollbackInput(mode=RollbackMode.INSTANT, agent=CARE_BOT)
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await finished(handle)
    assert "failover_to_human" in str(failure.value.cause)


async def test_a_rollback_stops_the_agents_canary_rollout_first(stack: FleetStack) -> None:
    from models.canary import CanaryPhase, CanaryRolloutInput, RolloutConfig, RolloutStep

    canary = await stack.start_canary(
        CanaryRolloutInput(
            agent=CARE_BOT,
            canary_version=CANARY_VERSION,
            rollout=RolloutConfig(
                steps=[RolloutStep(weight_percent=30, bake_seconds=600, min_sample=1000)]
            ),
        )
    )
    handle = await start_rollback(
        stack.client,
        RollbackInput(mode=RollbackMode.GRADUATED, agent=CARE_BOT, step_percent=20),
    )
    await stack.env.sleep(INTERVAL)
    state = await finished(handle)
    assert (
        state.shifts_applied == 2 and f"stopped the canary rollout of {CARE_BOT}" in state.reasons
    )
    rollout = await asyncio.wait_for(canary.result(), timeout=RESULT_TIMEOUT_SECONDS)
    assert rollout.phase is CanaryPhase.ABORTED
    assert "registry left as is" in rollout.decisions[-1].reasons[-1]
    assert canary_share(stack) == 0.0
