"""Queue management during an AI outage bigger than human capacity: nothing is dropped."""

from __future__ import annotations

import asyncio

import pytest

from models.interaction import Outcome, Reply
from models.routing import RoutingConfig, SpilloverPolicy, ThresholdRule
from simulators.ai_fleet import FaultMode, FaultRule
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def outage_policy(config: RoutingConfig) -> RoutingConfig:
    return config.model_copy(
        update={
            "intent_map": {},
            "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
            "spillover": SpilloverPolicy(
                deflect_max_priority=2,
                deflect_when_wait_above_seconds=60,
                voice_callback_when_wait_above_seconds=60,
                max_queued_per_agent=2,
                admission_check_seconds=0.5,
            ),
        }
    )


async def test_outage_deflects_calls_back_and_meters_into_the_human_queue(stack: Stack) -> None:
    await stack.use_config(outage_policy)
    stack.fleet.set_fault(FaultRule(mode=FaultMode.DOWN))
    await stack.acd.set_agents("general", 0)
    await stack.acd.resume()
    question = "Where is my order? It has not arrived"

    low, low_reply = await stack.open(question, metadata={"priority": 0})
    caller, caller_reply = await stack.open(question, channel="voice", metadata={"priority": 5})
    opened = [await stack.open(question, metadata={"priority": 5}) for _ in range(3)]
    queued = [handle for handle, _ in opened]
    assert low_reply.kind == "closing" and "Live tracking" in low_reply.text
    assert caller_reply.kind == "consent_request", "a callback needs the caller's yes"
    booked = await caller.execute_update("send_message", {"text": "yes"}, result_type=Reply)
    assert booked.kind == "closing" and "callback" in booked.text
    kinds = [reply.kind for _, reply in opened]
    assert kinds.count("handover_notice") == 2 and kinds.count("hold_notice") == 1

    assert (await low.result()).outcome is Outcome.DEFLECTED
    assert (await caller.result()).outcome is Outcome.CALLBACK
    caller_id = caller.id.removeprefix("interaction-")
    assert any(c.interaction_id == caller_id for c in stack.acd.callbacks.values())

    # Agents log in: the queued interactions are served and the buffered one is admitted.
    await stack.acd.set_agents("general", 2)
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in queued)), timeout=60)
    assert all(r.outcome in (Outcome.HUMAN_ONLY, Outcome.ESCALATED) for r in results)
    buffered = next(handle for handle, reply in opened if reply.kind == "hold_notice")
    trail = [e.kind for e in stack.store.audit_trail(buffered.id)]
    assert trail.count("spillover") >= 2, "buffered, then admitted after a re-check"
