"""Residency end to end on the real dev server: an EU customer never reaches a non-EU endpoint.

The fleet has a US and an EU copy of every agent (the US copies come first, so without the
policy they would win every tie); the policy keeps EU data in the EU.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from models.routing import ResidencyPolicy, RoutingConfig, ThresholdRule
from tests.integration.conftest import Stack
from warmline.default_config import fleet_endpoint_url

pytestmark = pytest.mark.integration

QUESTIONS = ("I was charged twice on my bill", "Where is my order?", "I need to reset my password")


def with_eu_copies(base_url: str) -> Callable[[RoutingConfig], RoutingConfig]:
    def change(config: RoutingConfig) -> RoutingConfig:
        eu = [
            e.model_copy(
                update={
                    "name": f"{e.name}-eu",
                    "region": "eu",
                    "url": fleet_endpoint_url(base_url, f"{e.name}-eu", e.version),
                }
            )
            for e in config.ai_endpoints
        ]
        return config.model_copy(
            update={
                "intent_map": {},
                "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
                "ai_endpoints": [*config.ai_endpoints, *eu],
                "residency": ResidencyPolicy(regions={"eu": ["eu"]}),
            }
        )

    return change


def us_calls(stack: Stack, config: RoutingConfig) -> int:
    return sum(
        stack.fleet.endpoint_stats(e.name, e.version).calls
        for e in config.ai_endpoints
        if e.region != "eu"
    )


async def test_an_eu_customer_never_reaches_a_non_eu_endpoint(stack: Stack) -> None:
    config = await stack.use_config(with_eu_copies(stack.settings.ai_fleet_url))
    before = us_calls(stack, config)
    handles = []
    for question in QUESTIONS:
        customer = {"id": "cust-eu", "segment": "standard", "region": "eu"}
        handle, reply = await stack.open(question, customer=customer)
        assert reply.model_version is not None, reply  # answered by an AI
        await handle.execute_update("send_message", {"text": "And one more thing, please"})
        await handle.signal("end_interaction", {"reason": "done"})
        handles.append(handle)
    await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=60)
    assert us_calls(stack, config) == before, "a US endpoint processed EU data"
    for handle in handles:
        facts = stack.store.get_facts(handle.id.removeprefix("interaction-"))
        assert facts is not None and facts.region == "eu"
        assert facts.ai_endpoint is not None and "-eu:" in facts.ai_endpoint
        decision = next(
            e for e in stack.store.audit_trail(handle.id) if e.kind == "routing_decision"
        )
        assert "residency: data of region eu may be processed in eu" in decision.payload["reasons"]

    # A US customer is unrestricted and gets the US copy (first in config order).
    us, reply = await stack.open(QUESTIONS[0], customer={"id": "cust-us", "region": "us"})
    await us.signal("end_interaction", {})
    await asyncio.wait_for(us.result(), timeout=60)
    facts = stack.store.get_facts(us.id.removeprefix("interaction-"))
    assert facts is not None and facts.ai_endpoint is not None and "-eu:" not in facts.ai_endpoint
