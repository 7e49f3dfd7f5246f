"""Registry edits and rollback plans: pure functions over a RoutingConfig."""

from __future__ import annotations

import pytest

from models.fleet import (
    FailoverToHuman,
    PromoteCanary,
    RegisterEndpoint,
    RejectCanary,
    RetireEndpoint,
    RollbackInput,
    RollbackMode,
    SetCanaryShare,
    SetRole,
    SetShares,
    SetWeight,
)
from models.routing import EndpointRole, RoutingConfig
from tests.warmline.fleet_builders import AGENT, endpoint
from warmline.default_config import default_routing_config
from warmline.registry import (
    RegistryError,
    apply_change,
    apply_changes,
    endpoint_shares,
    find,
    live_shares,
)
from warmline.rollback_plan import plan_rollback, shift_change

PROD = "2026.10"
NEW = "2026.11"


@pytest.fixture
def config() -> RoutingConfig:
    base = default_routing_config("http://fleet")
    edited, _ = apply_change(base, RegisterEndpoint(endpoint=endpoint(NEW)))
    return edited


def test_register_adds_a_canary_without_traffic(config: RoutingConfig) -> None:
    added = find(config, AGENT, NEW)
    assert added.role is EndpointRole.CANARY and added.weight == 0
    assert live_shares(config, AGENT) == {PROD: 100.0}
    again, reason = apply_change(config, RegisterEndpoint(endpoint=endpoint(NEW)))
    assert again == config and "already registered" in reason
    with pytest.raises(RegistryError, match="registered differently"):
        apply_change(config, RegisterEndpoint(endpoint=endpoint(NEW, weight=5.0)))


def test_register_shadow_twice_is_refused(config: RoutingConfig) -> None:
    shadowed, _ = apply_change(
        config, RegisterEndpoint(endpoint=endpoint("s1", EndpointRole.SHADOW))
    )
    with pytest.raises(RegistryError, match="already has shadow"):
        apply_change(shadowed, RegisterEndpoint(endpoint=endpoint("s2", EndpointRole.SHADOW)))
    # A non-live role never carries a weight, whatever the request said.
    assert find(shadowed, AGENT, "s1").weight == 0


def test_canary_share_splits_with_production_and_never_mutates_input(
    config: RoutingConfig,
) -> None:
    before = config.model_copy(deep=True)
    edited, reason = apply_change(config, SetCanaryShare(agent=AGENT, version=NEW, percent=5))
    assert config == before
    assert live_shares(edited, AGENT) == pytest.approx({PROD: 95.0, NEW: 5.0})
    assert "5%" in reason
    with pytest.raises(RegistryError, match="not canary"):
        apply_change(config, SetCanaryShare(agent=AGENT, version=PROD, percent=5))
    with pytest.raises(RegistryError, match="not registered"):
        apply_change(config, SetCanaryShare(agent=AGENT, version="9.9", percent=5))


def test_promote_keeps_old_production_warm_and_is_idempotent(config: RoutingConfig) -> None:
    edited, _ = apply_changes(
        config,
        [
            SetCanaryShare(agent=AGENT, version=NEW, percent=100),
            PromoteCanary(agent=AGENT, version=NEW),
        ],
    )
    assert find(edited, AGENT, NEW).role is EndpointRole.PRODUCTION
    assert find(edited, AGENT, PROD).role is EndpointRole.ROLLBACK
    assert live_shares(edited, AGENT) == {NEW: 100.0}
    again, reason = apply_change(edited, PromoteCanary(agent=AGENT, version=NEW))
    assert again == edited and "already production" in reason
    # The next promotion retires the older warm version: one rollback is kept.
    newer, _ = apply_changes(
        edited,
        [
            RegisterEndpoint(endpoint=endpoint("2026.12")),
            PromoteCanary(agent=AGENT, version="2026.12"),
        ],
    )
    roles = {row.version: row.role for row in endpoint_shares(newer, AGENT)}
    assert roles == {
        PROD: EndpointRole.RETIRED,
        NEW: EndpointRole.ROLLBACK,
        "2026.12": EndpointRole.PRODUCTION,
    }


def test_reject_canary_restores_production(config: RoutingConfig) -> None:
    at_half, _ = apply_change(config, SetCanaryShare(agent=AGENT, version=NEW, percent=50))
    rejected, _ = apply_change(at_half, RejectCanary(agent=AGENT, version=NEW))
    assert find(rejected, AGENT, NEW).role is EndpointRole.RETIRED
    assert live_shares(rejected, AGENT) == {PROD: 100.0}
    assert apply_change(rejected, RejectCanary(agent=AGENT, version=NEW))[0] == rejected
    # At 100 % production had weight 0; rejecting still gives it all traffic back.
    at_full, _ = apply_change(config, SetCanaryShare(agent=AGENT, version=NEW, percent=100))
    assert live_shares(apply_change(at_full, RejectCanary(agent=AGENT, version=NEW))[0], AGENT) == {
        PROD: 100.0
    }


def test_set_weight_role_and_retire_guards(config: RoutingConfig) -> None:
    with pytest.raises(RegistryError, match="only production and canary"):
        apply_change(
            apply_change(config, SetRole(agent=AGENT, version=NEW, role=EndpointRole.ROLLBACK))[0],
            SetWeight(agent=AGENT, version=NEW, weight=3),
        )
    # The default config's production weight is 1: weights are relative within the agent.
    weighted, _ = apply_change(config, SetWeight(agent=AGENT, version=NEW, weight=0.25))
    assert live_shares(weighted, AGENT) == pytest.approx({PROD: 80.0, NEW: 20.0})
    with pytest.raises(RegistryError, match="carries all"):
        apply_change(config, RetireEndpoint(agent=AGENT, version=PROD))
    forced, reason = apply_change(config, RetireEndpoint(agent=AGENT, version=PROD, force=True))
    assert live_shares(forced, AGENT) == {} and "retired" in reason


def test_set_shares_is_absolute_and_checks_roles(config: RoutingConfig) -> None:
    change = SetShares(agent=AGENT, shares={PROD: 70, NEW: 30})
    once, _ = apply_change(config, change)
    assert live_shares(once, AGENT) == pytest.approx({PROD: 70.0, NEW: 30.0})
    assert apply_change(once, change)[0] == once
    with pytest.raises(ValueError, match="sum to 100"):
        SetShares(agent=AGENT, shares={PROD: 70})
    demoted, _ = apply_change(config, SetRole(agent=AGENT, version=NEW, role=EndpointRole.ROLLBACK))
    with pytest.raises(RegistryError, match="give it a live role"):
        apply_change(demoted, change)
    promoted, _ = apply_change(
        demoted,
        SetShares(agent=AGENT, shares={PROD: 70, NEW: 30}, roles={NEW: EndpointRole.PRODUCTION}),
    )
    assert find(promoted, AGENT, NEW).role is EndpointRole.PRODUCTION


def test_failover_to_human_zeroes_every_live_version(config: RoutingConfig) -> None:
    edited, reason = apply_change(config, FailoverToHuman(agents=[AGENT]))
    assert live_shares(edited, AGENT) == {}
    assert live_shares(edited, "billing-bot") == {"3.2": 100.0}
    assert "care-bot" in reason and "care-bot:2026.10 1" in reason
    everything, _ = apply_change(config, FailoverToHuman())
    assert all(row.share_percent == 0 for row in endpoint_shares(everything))
    with pytest.raises(RegistryError, match="unknown agents"):
        apply_change(config, FailoverToHuman(agents=["nobody"]))


def test_apply_changes_is_all_or_nothing(config: RoutingConfig) -> None:
    with pytest.raises(RegistryError):
        apply_changes(
            config,
            [
                SetCanaryShare(agent=AGENT, version=NEW, percent=5),
                SetWeight(agent=AGENT, version="missing", weight=1),
            ],
        )
    assert live_shares(config, AGENT) == {PROD: 100.0}


def test_graduated_plan_reaches_zero_in_the_configured_number_of_shifts(
    config: RoutingConfig,
) -> None:
    at_half, _ = apply_change(config, SetCanaryShare(agent=AGENT, version=NEW, percent=50))
    by_step = plan_rollback(
        at_half, RollbackInput(mode=RollbackMode.GRADUATED, agent=AGENT, step_percent=15)
    )
    assert (by_step.from_version, by_step.to_version) == (NEW, PROD)
    assert [shift[NEW] for shift in by_step.shifts] == pytest.approx([35, 20, 5, 0])
    assert all(sum(shift.values()) == pytest.approx(100) for shift in by_step.shifts)
    by_count = plan_rollback(
        at_half, RollbackInput(mode=RollbackMode.GRADUATED, agent=AGENT, intervals=4)
    )
    assert [shift[NEW] for shift in by_count.shifts] == pytest.approx([37.5, 25, 12.5, 0])
    instant = plan_rollback(at_half, RollbackInput(mode=RollbackMode.INSTANT, agent=AGENT))
    assert instant.shifts == [{NEW: 0.0, PROD: 100.0}]
    last = shift_change(by_count, 3)
    assert last.roles == {NEW: EndpointRole.RETIRED} and last.shares == {PROD: 100.0}
    rolled, _ = apply_change(at_half, last)
    assert live_shares(rolled, AGENT) == {PROD: 100.0}


def test_plan_rolls_production_back_to_the_warm_version(config: RoutingConfig) -> None:
    promoted, _ = apply_change(config, PromoteCanary(agent=AGENT, version=NEW))
    plan = plan_rollback(
        promoted, RollbackInput(mode=RollbackMode.GRADUATED, agent=AGENT, step_percent=40)
    )
    assert (plan.from_version, plan.to_version) == (NEW, PROD)
    assert plan.to_role is EndpointRole.ROLLBACK
    first = shift_change(plan, 0)
    assert first.roles == {PROD: EndpointRole.PRODUCTION}
    state = promoted
    for index in range(len(plan.shifts)):
        state, _ = apply_change(state, shift_change(plan, index))
    assert live_shares(state, AGENT) == {PROD: 100.0}
    assert find(state, AGENT, NEW).role is EndpointRole.RETIRED
    # Without a warm version there is nothing to roll back to.
    retired, _ = apply_change(state, RetireEndpoint(agent=AGENT, version=NEW))
    with pytest.raises(RegistryError, match="failover_to_human"):
        plan_rollback(retired, RollbackInput(mode=RollbackMode.INSTANT, agent=AGENT))
