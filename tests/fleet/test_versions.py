"""A conversation keeps its version: across turns, retries and a growing canary."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError

from cli.demo import drive_interaction
from models.fleet import RegisterEndpoint, SetCanaryShare
from models.interaction import Channel, OrchestrationPattern
from models.routing import (
    Classification,
    EndpointRole,
    FleetSnapshot,
    RouteRequest,
    RoutingConfig,
)
from tests.fleet.conftest import CANARY_VERSION, FleetStack, care_script
from warmline.default_config import CARE_BOT, default_routing_config
from warmline.registry import apply_change
from warmline.routing import decide_route

pytestmark = pytest.mark.integration

FOLLOW_UPS = ("It is order A-1234, can you check it again?", "And when will it arrive?")


def routed_version(config: RoutingConfig, interaction_id: str) -> str | None:
    decision = decide_route(
        RouteRequest(
            interaction_id=interaction_id,
            channel=Channel.CHAT,
            segment="standard",
            language="en",
            classification=Classification(
                intent="order_status", confidence=0.99, model_version="kw"
            ),
        ),
        config,
        FleetSnapshot(),
        OrchestrationPattern.PRE_ACD,
    )
    return decision.ai_endpoint.version if decision.ai_endpoint else None


def with_canary(percent: float) -> RoutingConfig:
    base = default_routing_config("http://fleet")
    canary = base.ai_endpoints[0].model_copy(
        update={"version": CANARY_VERSION, "role": EndpointRole.CANARY, "weight": 0.0}
    )
    registered, _ = apply_change(base, RegisterEndpoint(endpoint=canary))
    return apply_change(
        registered, SetCanaryShare(agent=CARE_BOT, version=CANARY_VERSION, percent=percent)
    )[0]


def test_the_same_interaction_id_always_gets_the_same_version() -> None:
    ids = [f"cust-{i:04d}" for i in range(1000)]
    config = with_canary(25)
    first = {iid: routed_version(config, iid) for iid in ids}
    again = {iid: routed_version(config.model_copy(deep=True), iid) for iid in ids}
    assert first == again
    share = sum(v == CANARY_VERSION for v in first.values()) / len(ids)
    assert share == pytest.approx(0.25, abs=0.03)
    # As the canary grows, whoever met it keeps meeting it: steps only add customers.
    previous: set[str] = set()
    for percent in (1, 5, 25, 50, 100):
        config = with_canary(percent)
        on_canary = {iid for iid in ids if routed_version(config, iid) == CANARY_VERSION}
        assert previous <= on_canary
        previous = on_canary
    assert previous == set(ids)


async def test_the_version_is_recorded_on_every_turn(stack: FleetStack) -> None:
    await stack.use_config(
        lambda c: apply_change(
            c, SetCanaryShare(agent=CARE_BOT, version=CANARY_VERSION, percent=50)
        )[0]
    )
    scripts = [care_script(f"turns-{i}", follow_ups=FOLLOW_UPS) for i in range(6)]
    results = [await drive_interaction(stack.client, script) for script in scripts]
    seen = set()
    for result in results:
        facts = stack.store.get_facts(result.interaction_id)
        assert facts is not None and facts.turns >= 3
        assert facts.ai_endpoint == facts.model_version == result.model_version
        stream = f"interaction-{result.interaction_id}"
        versions = [
            event.payload["model_version"]
            for event in stack.store.audit_trail(stream)
            if event.kind == "ai_response"
        ]
        assert len(versions) >= 3 and set(versions) == {facts.model_version}
        seen.add(facts.model_version)
    assert seen == {f"{CARE_BOT}:2026.10", f"{CARE_BOT}:{CANARY_VERSION}"}
    # An interaction id names one interaction for ever (README contract): a retried start is
    # refused, so it can never meet another version (stickiness per id is checked above).
    with pytest.raises(RPCError, match="ALREADY_EXISTS"):
        await drive_interaction(stack.client, scripts[0])
