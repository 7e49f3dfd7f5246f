"""Fleet health end to end: real simulators, real Temporal, breakers shared through the store.

Faults are injected in the simulated fleet; the breaker is judged by the worker's health sync
(the production path: flush, merge, compare-and-set, audit, WFM event), and the next
interactions' routing decisions show where traffic went.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from models.health import FLEET_HEALTH_STREAM, WFM_EVENTS_STREAM, WfmCapacityEvent
from models.interaction import Reply, StatusView
from models.routing import RoutingConfig, ThresholdRule
from runtime.health_sync import breaker_config_from_settings
from simulators.ai_fleet import FaultMode, FaultRule
from tests.integration.conftest import Stack
from tests.polling import eventually
from warmline.breaker import BreakerConfig
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION, fleet_endpoint_url

pytestmark = pytest.mark.integration

FALLBACK_VERSION = "2026.09"
FAST = BreakerConfig(consecutive_failures=3, minimum_calls=5, open_seconds=1.0)
PASSWORD = "I forgot my password and cannot log in"


@pytest.fixture
async def health_stack(stack: Stack) -> AsyncIterator[Stack]:
    """The shared stack with a breaker that trips and probes within a second or two."""
    stack.deps.health.configure(FAST)
    yield stack
    stack.deps.health.configure(breaker_config_from_settings(stack.settings))


def force_ai(config: RoutingConfig) -> RoutingConfig:
    return config.model_copy(
        update={"intent_map": {}, "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)]}
    )


def with_fallback(config: RoutingConfig) -> RoutingConfig:
    """care-bot gets a second production version that takes almost no traffic while healthy."""
    config = force_ai(config)
    primary = next(e for e in config.ai_endpoints if e.name == CARE_BOT)
    fallback = primary.model_copy(
        update={
            "version": FALLBACK_VERSION,
            "weight": 0.001,
            "url": fleet_endpoint_url(primary.url.split("/agents/")[0], CARE_BOT, FALLBACK_VERSION),
        }
    )
    return config.model_copy(update={"ai_endpoints": [*config.ai_endpoints, fallback]})


async def first_reply(handle: Any) -> Reply:
    return await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)


async def status(handle: Any) -> StatusView:
    return await handle.query("status", result_type=StatusView)


async def close(handle: Any) -> None:
    await handle.signal("end_interaction", {"reason": "test over"})
    result = await handle.result()
    assert result.outcome is not None


def transitions(stack: Stack, endpoint: str) -> list[str]:
    return [
        f"{e.payload['from_state']}->{e.payload['to_state']}"
        for e in stack.store.audit_trail(FLEET_HEALTH_STREAM)
        if e.kind == "breaker_transition" and e.payload["endpoint"] == endpoint
    ]


def wfm_events(stack: Stack, endpoint: str) -> list[WfmCapacityEvent]:
    return [
        WfmCapacityEvent.model_validate(e.payload)
        for e in stack.store.audit_trail(WFM_EVENTS_STREAM)
        if e.payload.get("endpoint") == endpoint  # the stream also carries phase moves
    ]


async def test_outage_moves_traffic_to_the_fallback_version_then_to_humans(
    health_stack: Stack,
) -> None:
    stack, health = health_stack, health_stack.deps.health
    health.configure(replace(FAST, open_seconds=60.0))  # no probe may interfere here
    primary, fallback = f"{CARE_BOT}:{CARE_BOT_VERSION}", f"{CARE_BOT}:{FALLBACK_VERSION}"
    await stack.use_config(with_fallback)
    before = len(transitions(stack, primary))
    stack.fleet.set_fault(
        FaultRule(name=CARE_BOT, version=CARE_BOT_VERSION, mode=FaultMode.ERROR_500)
    )

    victim = await stack.start(PASSWORD)
    await first_reply(victim)  # every AI attempt fails: the customer is handed to a human
    await eventually(lambda: health.state(CARE_BOT, CARE_BOT_VERSION) == "open", "primary open")
    assert transitions(stack, primary)[before:] == ["closed->open"]
    (event,) = wfm_events(stack, primary)[-1:]
    assert (event.from_state, event.to_state) == ("closed", "open")
    assert event.detection_latency_seconds is not None and event.detection_latency_seconds < 5
    assert any("absorbed by healthy AI versions" in r for r in event.reasons)

    rerouted = await stack.start(PASSWORD)
    reply = await first_reply(rerouted)
    assert reply.sender.value == "ai" and reply.model_version == fallback
    decision = (await status(rerouted)).decisions[0]
    assert decision["ai_endpoint"] == fallback
    assert (
        f"AI endpoint {CARE_BOT}/{CARE_BOT_VERSION} excluded: breaker open" in decision["reasons"]
    )

    stack.fleet.set_fault(FaultRule(name=CARE_BOT, mode=FaultMode.ERROR_500))
    second_victim = await stack.start(PASSWORD)
    await first_reply(second_victim)
    await eventually(lambda: health.state(CARE_BOT, FALLBACK_VERSION) == "open", "fallback open")
    to_humans = await stack.start(PASSWORD)
    await first_reply(to_humans)
    routed = (await status(to_humans)).decisions[0]
    assert routed["route"] == "human" and routed["ai_endpoint"] is None
    assert any(r.startswith("hybrid fallback") for r in routed["reasons"])
    (last,) = wfm_events(stack, fallback)[-1:]
    assert last.to_state == "open" and last.extra_human_volume_per_interval >= 0
    for handle in (victim, rerouted, second_victim, to_humans):
        await close(handle)


async def test_looping_200s_are_caught_as_degraded_by_quality_alone(health_stack: Stack) -> None:
    stack, health = health_stack, health_stack.deps.health
    endpoint = f"{CARE_BOT}:{CARE_BOT_VERSION}"
    await stack.use_config(force_ai)
    stack.fleet.set_fault(
        FaultRule(name=CARE_BOT, version=CARE_BOT_VERSION, mode=FaultMode.LOW_QUALITY)
    )
    handles = []
    for _ in range(4):
        handle = await stack.start(PASSWORD)
        handles.append(handle)
        assert (await first_reply(handle)).sender.value == "ai"  # HTTP 200 every time
        for text in ("It says my link expired", "I still cannot get in"):
            await handle.execute_update("send_message", {"text": text}, result_type=Reply)
    await eventually(lambda: health.state(CARE_BOT, CARE_BOT_VERSION) == "degraded", "degraded")
    (trail,) = [
        e
        for e in stack.store.audit_trail(FLEET_HEALTH_STREAM)
        if e.kind == "breaker_transition" and e.payload["endpoint"] == endpoint
    ][-1:]
    assert trail.payload["to_state"] == "degraded"
    reasons = " ".join(trail.payload["reasons"])
    assert "low-quality replies" in reasons and "failure" not in reasons
    assert trail.payload["metrics"]["failures"] == 0
    (event,) = wfm_events(stack, endpoint)[-1:]
    assert (event.from_state, event.to_state) == ("closed", "degraded")
    restriction = health.restriction(CARE_BOT, CARE_BOT_VERSION)
    assert restriction.allowed_intents and restriction.min_confidence == 0.97
    (view,) = [e for e in health.snapshot() if (e.name, e.version) == (CARE_BOT, CARE_BOT_VERSION)]
    assert view.breaker == "degraded" and view.available
    for handle in handles:
        await close(handle)


async def test_half_open_probe_closes_the_breaker_after_recovery(health_stack: Stack) -> None:
    stack, health = health_stack, health_stack.deps.health
    endpoint = f"{CARE_BOT}:{CARE_BOT_VERSION}"
    await stack.use_config(force_ai)
    stack.fleet.set_fault(FaultRule(name=CARE_BOT, version=CARE_BOT_VERSION, mode=FaultMode.DOWN))
    victim = await stack.start(PASSWORD)
    await first_reply(victim)
    await eventually(lambda: health.state(CARE_BOT, CARE_BOT_VERSION) == "open", "open")
    stack.fleet.clear_faults()
    # After open_seconds the sync claims the probe for this (the only) worker.
    await eventually(lambda: health.state(CARE_BOT, CARE_BOT_VERSION) == "half_open", "probe claim")
    probe = await stack.start(PASSWORD)
    reply = await first_reply(probe)
    assert reply.sender.value == "ai" and reply.model_version == endpoint
    await eventually(lambda: health.state(CARE_BOT, CARE_BOT_VERSION) == "closed", "closed")
    assert transitions(stack, endpoint)[-3:] == [
        "closed->open",
        "open->half_open",
        "half_open->closed",
    ]
    restored = wfm_events(stack, endpoint)[-1]
    assert restored.kind == "capacity_restored" and restored.extra_human_volume_per_interval <= 0
    ok, _ = stack.store.verify_audit(FLEET_HEALTH_STREAM)
    assert ok
    for handle in (victim, probe):
        await close(handle)
