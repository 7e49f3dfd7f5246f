"""A canary that requires a passing shadow report: its shadow answers are judged (the real
MiniLM on the fleet worker, every task replayed) before the first step, and a report that does
not pass ends the rollout with the canary still at weight 0."""

from __future__ import annotations

import asyncio

import pytest

from models.ai import ShadowAnswer
from models.canary import CanaryPhase, CanaryRolloutInput, DecisionKind
from models.routing import EndpointRole
from models.shadow import ShadowGate
from tests.fleet.conftest import CANARY_VERSION, FleetStack
from tests.fleet.test_canary import finished, rollout
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION
from warmline.registry import find, live_shares

pytestmark = pytest.mark.integration

LIVE = "Your parcel left our warehouse yesterday and should arrive on Friday."
PROMISE = "I've issued a full refund of $300 to your card; the parcel arrives Friday."


async def test_a_shadow_that_promises_refunds_never_gets_a_first_step(stack: FleetStack) -> None:
    await stack.use_config()
    for i in range(12):
        answer = ShadowAnswer(
            interaction_id=f"shadow-gate-{i}",
            turn=1,
            endpoint=f"{CARE_BOT}:{CANARY_VERSION}",
            live_model_version=CARE_BOT_VERSION,
            live_text=LIVE,
            shadow_text=PROMISE,
            shadow_action="reply",
            latency_ms=120.0,
        )
        await asyncio.to_thread(stack.store.record_shadow_answer, answer)
    handle = await stack.start_canary(
        CanaryRolloutInput(
            agent=CARE_BOT,
            canary_version=CANARY_VERSION,
            rollout=rollout(25, 100, shadow_gate=ShadowGate(min_answers=10)),
        ),
        wait=False,
    )
    state = await finished(handle)
    assert state.phase is CanaryPhase.ABORTED
    decision = state.decisions[-1]
    assert (decision.kind, decision.by) == (DecisionKind.ABORT, "shadow-gate")
    assert decision.reasons[0] == f"shadow report on {CARE_BOT}:{CANARY_VERSION}: failed"
    assert any("outside policy" in reason for reason in decision.reasons), decision.reasons
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
    assert find(config, CARE_BOT, CANARY_VERSION).role is EndpointRole.CANARY  # untouched
    kinds = [e.kind for e in stack.store.audit_trail("fleet")]
    assert kinds[-1] == "canary_abort"
    await stack.record("canary_shadow_gate_failed", handle, save=True)
