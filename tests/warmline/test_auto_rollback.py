"""The automatic rollback policy: pure decisions over a registry and the fleet's breakers."""

from __future__ import annotations

import pytest

from models.fleet import AutoRollbackAction, RollbackMode
from models.routing import (
    AIEndpoint,
    AutoRollbackMode,
    AutoRollbackPolicy,
    EndpointRole,
    RoutingConfig,
)
from tests.warmline.fleet_builders import AGENT, endpoint
from warmline.auto_rollback import (
    AUTO_ROLLBACK_ACTOR,
    BreakerOpened,
    RunningRollback,
    another_try_fits,
    decide_auto_rollback,
    retry_delay,
)
from warmline.default_config import default_routing_config
from warmline.rollback_plan import plan_rollback

PROD = "2026.10"
CANARY = "2026.11"
WARM = "2026.09"
FAILURES = ("5 consecutive failures",)


def registry(
    *extra: AIEndpoint, production: float = 100.0, policy: AutoRollbackPolicy | None = None
) -> RoutingConfig:
    base = default_routing_config("http://fleet")
    endpoints = [
        e.model_copy(update={"weight": production}) if (e.name, e.version) == (AGENT, PROD) else e
        for e in base.ai_endpoints
    ]
    return base.model_copy(
        update={
            "ai_endpoints": [*endpoints, *extra],
            "auto_rollback": policy or AutoRollbackPolicy(),
        }
    )


def opened(version: str, revision: int = 3) -> BreakerOpened:
    return BreakerOpened(AGENT, version, "closed", revision, FAILURES)


def with_canary(policy: AutoRollbackPolicy | None = None) -> RoutingConfig:
    """Production at 95 %, canary at 5 %."""
    return registry(endpoint(CANARY, EndpointRole.CANARY, 5.0), production=95.0, policy=policy)


def with_warm(policy: AutoRollbackPolicy | None = None) -> RoutingConfig:
    """Production at 100 % and the previous version kept warm."""
    return registry(endpoint(WARM, EndpointRole.ROLLBACK), policy=policy)


def test_a_failing_canary_goes_back_to_production_at_once_by_default() -> None:
    config = with_canary()
    decision = decide_auto_rollback(opened(CANARY), config, {(AGENT, CANARY): "open"})
    assert decision.action is AutoRollbackAction.ROLLBACK
    assert decision.workflow_id == f"rollback-{AGENT}"
    assert decision.endpoint == f"{AGENT}:{CANARY}" and decision.breaker_revision == 3
    request = decision.request
    assert request is not None and request.mode is RollbackMode.INSTANT
    assert (request.agent, request.from_version, request.to_version) == (AGENT, CANARY, PROD)
    assert request.requested_by == AUTO_ROLLBACK_ACTOR
    assert "5 consecutive failures" in request.reason and "closed -> open" in request.reason
    assert decision.reasons[0].startswith(f"breaker of {AGENT}:{CANARY} closed -> open")
    # The workflow's plan agrees with the decision on the same registry.
    plan = plan_rollback(config, request)
    assert (plan.from_version, plan.to_version, len(plan.shifts)) == (CANARY, PROD, 1)


def test_graduated_mode_carries_its_step_and_interval() -> None:
    policy = AutoRollbackPolicy(
        mode=AutoRollbackMode.GRADUATED, step_percent=50.0, interval_seconds=5.0
    )
    config = with_warm(policy=policy)
    decision = decide_auto_rollback(opened(PROD), config, {(AGENT, PROD): "open"})
    request = decision.request
    assert request is not None and request.mode is RollbackMode.GRADUATED
    assert (request.step_percent, request.interval_seconds) == (50.0, 5.0)
    assert (request.from_version, request.to_version) == (PROD, WARM)
    assert len(plan_rollback(config, request).shifts) == 2


def test_failing_production_goes_to_the_version_kept_warm() -> None:
    decision = decide_auto_rollback(opened(PROD), with_warm(), {(AGENT, PROD): "open"})
    assert decision.action is AutoRollbackAction.ROLLBACK
    assert decision.request is not None and decision.request.to_version == WARM
    assert any("kept warm as rollback" in r for r in decision.reasons)


def test_a_degraded_target_still_serves_but_an_open_one_does_not() -> None:
    states = {(AGENT, PROD): "open", (AGENT, WARM): "degraded"}
    assert decide_auto_rollback(opened(PROD), with_warm(), states).request is not None
    states[(AGENT, WARM)] = "half_open"
    decision = decide_auto_rollback(opened(PROD), with_warm(), states)
    assert decision.action is AutoRollbackAction.NONE
    assert "failover to human is off" in decision.reasons[-1]


def test_a_canary_without_healthy_production_goes_to_the_warm_version() -> None:
    config = registry(
        endpoint(CANARY, EndpointRole.CANARY, 5.0), endpoint(WARM, EndpointRole.ROLLBACK)
    )
    states = {(AGENT, PROD): "open", (AGENT, CANARY): "open"}
    decision = decide_auto_rollback(opened(CANARY), config, states)
    assert decision.request is not None
    assert (decision.request.from_version, decision.request.to_version) == (CANARY, WARM)


def test_no_healthy_version_fails_over_to_humans_only_when_allowed() -> None:
    states = {(AGENT, PROD): "open"}
    off = decide_auto_rollback(opened(PROD), registry(), states)
    assert off.action is AutoRollbackAction.NONE and off.request is None
    assert "until a probe succeeds" in off.reasons[-1]
    allowed = registry(policy=AutoRollbackPolicy(failover_to_human=True))
    decision = decide_auto_rollback(opened(PROD), allowed, states)
    assert decision.action is AutoRollbackAction.FAILOVER_TO_HUMAN
    request = decision.request
    assert request is not None and request.mode is RollbackMode.FAILOVER_TO_HUMAN
    assert request.agents == [AGENT] and request.agent is None
    assert decision.workflow_id == f"rollback-{AGENT}"
    assert "automatic failover to human" in request.reason


def test_other_healthy_live_versions_already_carry_the_traffic() -> None:
    config = registry(endpoint("2026.08", EndpointRole.PRODUCTION, 1.0))
    decision = decide_auto_rollback(opened(PROD), config, {(AGENT, PROD): "open"})
    assert decision.action is AutoRollbackAction.NONE
    assert "2026.08 of care-bot already take its traffic" in decision.reasons[-1]


def test_off_means_nothing_is_started() -> None:
    config = with_canary(policy=AutoRollbackPolicy(mode=AutoRollbackMode.OFF))
    decision = decide_auto_rollback(opened(CANARY), config, {})
    assert decision.action is AutoRollbackAction.NONE
    assert decision.reasons[-1] == "automatic rollback is off"


@pytest.mark.parametrize(
    ("version", "role", "weight"),
    [
        ("2026.12", EndpointRole.SHADOW, 0.0),
        (WARM, EndpointRole.ROLLBACK, 0.0),
        ("2026.07", EndpointRole.RETIRED, 0.0),
        (CANARY, EndpointRole.CANARY, 0.0),
    ],
)
def test_a_version_without_live_traffic_has_nothing_to_roll_back(
    version: str, role: EndpointRole, weight: float
) -> None:
    config = registry(endpoint(version, role, weight))
    decision = decide_auto_rollback(opened(version), config, {})
    assert decision.action is AutoRollbackAction.NONE
    assert f"takes no live traffic (role {role.value})" in decision.reasons[-1]


def test_an_unknown_version_is_left_alone() -> None:
    decision = decide_auto_rollback(opened("9.9"), registry(), {})
    assert decision.action is AutoRollbackAction.NONE
    assert "not in the registry" in decision.reasons[-1]


def test_a_running_rollback_of_the_agent_is_left_to_finish() -> None:
    running = [RunningRollback(f"rollback-{AGENT}", AGENT, to_version=PROD)]
    decision = decide_auto_rollback(opened(CANARY), with_canary(), {}, running)
    assert decision.action is AutoRollbackAction.NONE
    assert decision.reasons[-1] == f"rollback-{AGENT} is already running"
    target = decide_auto_rollback(opened(PROD), with_canary(), {}, running)
    assert target.reasons[-1] == f"{AGENT}:{PROD} is already the target of rollback-{AGENT}"
    everyone = [RunningRollback("rollback-all", None)]
    assert decide_auto_rollback(opened(CANARY), with_canary(), {}, everyone).request is None


def test_a_rollback_of_another_agent_does_not_hold_this_one_back() -> None:
    running = [RunningRollback("rollback-billing-bot", "billing-bot")]
    decision = decide_auto_rollback(opened(CANARY), with_canary(), {}, running)
    assert decision.action is AutoRollbackAction.ROLLBACK


def test_the_policy_defaults_and_round_trips_in_the_routing_config() -> None:
    policy = RoutingConfig().auto_rollback
    assert policy.mode is AutoRollbackMode.INSTANT and not policy.failover_to_human
    stored = with_canary(policy=AutoRollbackPolicy(mode=AutoRollbackMode.GRADUATED))
    assert RoutingConfig.model_validate_json(stored.model_dump_json()) == stored
    legacy = stored.model_dump(mode="json")
    del legacy["auto_rollback"]  # configs saved before the policy existed
    assert RoutingConfig.model_validate(legacy).auto_rollback == AutoRollbackPolicy()


def test_an_opening_is_named_by_its_revision() -> None:
    assert opened(CANARY, revision=7).key == f"{AGENT}:{CANARY}/r7"
    assert opened(CANARY, revision=7).key != opened(CANARY, revision=8).key


def test_an_unstarted_rollback_is_retried_ever_later_but_never_dropped() -> None:
    delays = [retry_delay(n, 0.5, 300.0) for n in range(12)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays[-1] == 300.0 and delays == sorted(delays)


def test_a_retry_is_tried_only_while_the_claim_leaves_room_for_it() -> None:
    assert another_try_fits(now=100.0, backoff=2.0, call_seconds=10.0, claimed_until=130.0)
    assert not another_try_fits(now=120.0, backoff=2.0, call_seconds=10.0, claimed_until=130.0)
