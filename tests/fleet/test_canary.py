"""CanaryRolloutWorkflow end to end: real interactions, bake times skipped on the test server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from models.canary import (
    AbortRollout,
    CanaryPhase,
    CanaryRolloutInput,
    CanaryState,
    DecisionKind,
    PauseRollout,
    PromoteNow,
    ResumeRollout,
    RolloutConfig,
    RolloutStep,
)
from models.fleet import FLEET_AUDIT_STREAM
from models.fleet_analysis import (
    AnalysisOutcome,
    AnalysisTemplate,
    CanaryMetric,
    default_checks,
)
from models.routing import EndpointRole
from simulators.ai_fleet import FaultMode, FaultRule
from tests.fleet.conftest import CANARY_VERSION, FleetStack
from tests.polling import eventually
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION
from warmline.registry import find, live_shares

pytestmark = pytest.mark.integration

BAKE = 300.0
POLL = BAKE
ROUND = BAKE
"""Virtual time skipped after each batch of traffic: one poll lands, the bake has passed
(small histories: ``tests/replay/histories_fleet`` keeps some of them)."""
RESULT_TIMEOUT_SECONDS = 30.0
SETTLE = 60.0
"""Interactions finish before time is skipped, so a short settle still counts all of them."""


def template(min_sample: int = 3) -> AnalysisTemplate:
    """The default checks with sample minimums for a handful of interactions; latency and
    handle time get loose tolerances because loopback timings on a shared CI core are noise."""
    loose = {CanaryMetric.LATENCY_P95: 2.0, CanaryMetric.AVERAGE_HANDLE_TIME: 1.0}
    return AnalysisTemplate(
        checks=[
            check.model_copy(
                update={
                    "min_sample": min_sample,
                    "tolerance": loose.get(check.metric, check.tolerance),
                }
            )
            for check in default_checks()
        ]
    )


def rollout(*weights: float, min_sample: int = 3, **fields: Any) -> RolloutConfig:
    return RolloutConfig(
        steps=[
            RolloutStep(weight_percent=w, bake_seconds=BAKE, min_sample=min_sample) for w in weights
        ],
        poll_seconds=POLL,
        settle_seconds=SETTLE,
        analysis=template(),
        **fields,
    )


async def finished(handle: WorkflowHandle[Any, CanaryState]) -> CanaryState:
    """The result, or a clear failure instead of a hung suite (time is not skipped here)."""
    return await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT_SECONDS)


async def drive_until_done(
    stack: FleetStack,
    handle: WorkflowHandle[Any, CanaryState],
    prefix: str,
    batch: int = 10,
    rounds: int = 12,
    **drive: Any,
) -> CanaryState:
    """Traffic in real time, then skip a bake; until the rollout ends."""
    for round_index in range(rounds):
        if (await stack.status(handle)).state.terminal:
            break
        await stack.drive(f"{prefix}-{round_index}", batch, **drive)
        await stack.env.sleep(ROUND)
    return await finished(handle)


async def test_a_good_canary_is_promoted_through_every_step(stack: FleetStack) -> None:
    handle = await stack.start_canary(
        CanaryRolloutInput(
            agent=CARE_BOT,
            canary_version=CANARY_VERSION,
            rollout=rollout(20, 50, 100, max_polls_per_run=2),
            requested_by="rm@example.com",
        )
    )
    state = await drive_until_done(stack, handle, "good")

    assert state.phase is CanaryPhase.PROMOTED
    assert [d.kind for d in state.decisions] == [
        DecisionKind.START,
        DecisionKind.ADVANCE,
        DecisionKind.ADVANCE,
        DecisionKind.PROMOTE,
    ]
    assert [a.outcome for a in state.analyses] == [AnalysisOutcome.SUCCESSFUL] * 3
    assert state.run_index >= 1, "the rollout continued as new with its state"
    config = stack.store.active_routing_config()
    assert config is not None and config.author == f"canary:{handle.id}"
    assert find(config, CARE_BOT, CANARY_VERSION).role is EndpointRole.PRODUCTION
    assert find(config, CARE_BOT, CARE_BOT_VERSION).role is EndpointRole.ROLLBACK
    assert live_shares(config, CARE_BOT) == {CANARY_VERSION: 100.0}
    trail = [e for e in stack.store.audit_trail(FLEET_AUDIT_STREAM) if handle.id in str(e.payload)]
    kinds = [e.kind for e in trail]
    assert kinds.count("registry_change") == 4  # three weights and the promotion
    assert kinds.count("canary_advance") == 2 and kinds[-1] == "canary_promote"
    weights = [
        change["percent"]
        for event in trail
        if event.kind == "registry_change"
        for change in event.payload["changes"]
        if change["op"] == "set_canary_share"
    ]
    assert weights == [20, 50, 100]
    await stack.record("canary_promoted", handle, save=True)


async def test_worse_containment_is_rolled_back_at_the_first_significant_step(
    stack: FleetStack,
) -> None:
    stack.fleet.set_fault(
        FaultRule(name=CARE_BOT, version=CANARY_VERSION, mode=FaultMode.ESCALATE, rate=1.0)
    )
    # Step 1 decides on the first canary interactions; the split is a hash of the interaction
    # id, so which ones (and how many per batch) is fixed by the ids "worse-<round>-<i>".
    config = RolloutConfig(
        steps=[
            RolloutStep(weight_percent=10, bake_seconds=BAKE, min_sample=1),
            RolloutStep(weight_percent=50, bake_seconds=BAKE, min_sample=3),
            RolloutStep(weight_percent=100, bake_seconds=BAKE, min_sample=3),
        ],
        poll_seconds=POLL,
        settle_seconds=SETTLE,
        analysis=template(min_sample=2),
    )
    handle = await stack.start_canary(
        CanaryRolloutInput(agent=CARE_BOT, canary_version=CANARY_VERSION, rollout=config)
    )
    # One customer in four asks for a human anyway: production's containment is not perfect.
    state = await drive_until_done(
        stack, handle, "worse", ending=lambda i: "request_human" if i % 4 == 3 else "thanks"
    )

    assert state.phase is CanaryPhase.ROLLED_BACK
    # Two escalated canary conversations against ~78 % production containment are not yet
    # significant at alpha / (steps x checks); the next step's evidence is.
    assert [a.outcome for a in state.analyses] == [
        AnalysisOutcome.SUCCESSFUL,
        AnalysisOutcome.FAILED,
    ]
    passed, failed = state.analyses
    early = passed.verdict(CanaryMetric.CONTAINMENT_RATE)
    assert early is not None and early.canary_value == 0.0
    assert early.p_value is not None and early.p_value > early.alpha
    assert failed.step_index == state.step_index == 1, "rolled back before full traffic"
    assert CanaryMetric.CONTAINMENT_RATE in failed.failed_guardrails
    containment = failed.verdict(CanaryMetric.CONTAINMENT_RATE)
    assert containment is not None and containment.p_value is not None
    assert containment.p_value < containment.alpha
    assert containment.canary_value == 0.0
    registry = stack.store.active_routing_config()
    assert registry is not None
    assert find(registry, CARE_BOT, CANARY_VERSION).role is EndpointRole.RETIRED
    assert live_shares(registry, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
    assert state.decisions[-1].kind is DecisionKind.ROLLBACK
    assert "guardrail breached: containment_rate" in state.decisions[-1].reasons
    await stack.record("canary_rolled_back", handle)


async def test_pause_resume_and_promote_now_act(stack: FleetStack) -> None:
    handle = await stack.start_canary(
        CanaryRolloutInput(
            agent=CARE_BOT,
            canary_version=CANARY_VERSION,
            rollout=rollout(5, 50, 100, min_sample=1000),
        )
    )
    await stack.env.sleep(ROUND)
    # Malformed commands are audited as rejected; the rollout carries on.
    await handle.signal("pause", "peak hour")
    await handle.signal("abort", {"by": "ops", "leave_weights": "perhaps"})
    await handle.signal("resume", args=[{"by": "ops"}, {"by": "ops"}])
    await eventually(
        lambda: len(stack.rejected_signals(handle)) == 3, "three rejected signals audited"
    )
    rejected = stack.rejected_signals(handle)
    assert [(e.payload["signal"], e.payload["expected"]) for e in rejected] == [
        ("pause", "PauseRollout"),
        ("abort", "AbortRollout"),
        ("resume", "signal resume"),
    ]
    assert "leave_weights: Input should be a valid boolean" in rejected[1].payload["reason"]
    assert (await stack.status(handle)).state.phase is CanaryPhase.BAKING
    await handle.signal("pause", PauseRollout(by="ops", reason="peak hour"))
    await stack.env.sleep(POLL)
    status = await stack.status(handle)
    assert status.state.phase is CanaryPhase.PAUSED
    assert status.waiting_for == "an operator (paused by ops)"
    polls = status.state.polls
    await stack.env.sleep(ROUND * 3)
    assert (await stack.status(handle)).state.polls == polls, "a paused rollout does not poll"

    await handle.signal("resume", ResumeRollout(by="ops"))
    await stack.env.sleep(POLL * 2)
    status = await stack.status(handle)
    assert status.state.phase is CanaryPhase.BAKING and status.state.polls > polls
    assert "sample" in status.waiting_for

    await handle.signal("promote_now", PromoteNow(by="rm", reason="urgent fix"))
    state = await finished(handle)
    assert state.phase is CanaryPhase.PROMOTED and state.step_index == 0
    assert [d.kind for d in state.decisions] == [
        DecisionKind.START,
        DecisionKind.PAUSE,
        DecisionKind.RESUME,
        DecisionKind.PROMOTE_NOW,
    ]
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {CANARY_VERSION: 100.0}
    await stack.record("canary_signals", handle, save=True)


async def test_abort_takes_the_canary_out_of_traffic(stack: FleetStack) -> None:
    handle = await stack.start_canary(
        CanaryRolloutInput(
            agent=CARE_BOT, canary_version=CANARY_VERSION, rollout=rollout(25, 100, min_sample=50)
        )
    )
    await stack.env.sleep(POLL)
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == pytest.approx(
        {CARE_BOT_VERSION: 75.0, CANARY_VERSION: 25.0}
    )
    await handle.signal("abort", AbortRollout(by="ops", reason="wrong build"))
    state = await finished(handle)
    assert state.phase is CanaryPhase.ABORTED
    config = stack.store.active_routing_config()
    assert config is not None
    assert live_shares(config, CARE_BOT) == {CARE_BOT_VERSION: 100.0}
    assert find(config, CARE_BOT, CANARY_VERSION).role is EndpointRole.RETIRED


async def test_the_rollout_survives_a_worker_restart_mid_step(stack: FleetStack) -> None:
    handle = await stack.start_canary(
        CanaryRolloutInput(agent=CARE_BOT, canary_version=CANARY_VERSION, rollout=rollout(50))
    )
    await stack.drive("restart", 10)
    await stack.env.sleep(BAKE / 2)  # mid-step: the bake is half over, its poll timer pending
    await stack.stop_fleet_worker()
    # With no worker the test server cannot skip time (a workflow task would be pending);
    # the replacement starts with an empty cache and rebuilds the rollout from history.
    stack.start_fleet_worker()
    await stack.env.sleep(ROUND)
    state = await finished(handle)
    assert state.phase is CanaryPhase.PROMOTED
    assert state.decisions[-1].kind is DecisionKind.PROMOTE


async def test_bad_input_fails_at_once_naming_the_field(stack: FleetStack) -> None:
    from temporalio.client import WorkflowFailureError

    handle = await stack.start_canary(
        CanaryRolloutInput(agent=CARE_BOT, canary_version=CARE_BOT_VERSION), wait=False
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await finished(handle)
    assert "canary_version" in str(failure.value.cause)
    assert "is production" in str(failure.value.cause)
