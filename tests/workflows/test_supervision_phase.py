"""``SupervisionPhaseWorkflow`` on the time-skipping test server with a real SQLite store.

Days of evaluation intervals and sign-off deadlines pass in milliseconds; evidence comes from
facts, reviews and QA written through the Store API, exactly as interactions leave them. The
worker keeps no workflow cache, so every task is replayed from history (determinism check).

``WARMLINE_RECORD_SUPERVISION_HISTORIES=<dir>`` saves each test's history, which is how
``tests/replay/histories_supervision`` is refreshed after a deliberate workflow change.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.facts import RecordInteraction
from models.supervision import (
    ReviewDecision,
    ReviewRecord,
    SupervisionMode,
)
from models.supervision_phase import (
    NEW_MODEL_VERSION_SIGNAL,
    SIGN_OFF_SIGNAL,
    SUPERVISION_PHASE_WORKFLOW,
    SUPERVISION_TASK_QUEUE,
    WFM_EVENTS_STREAM,
    Phase,
    PhaseCriteria,
    PromotionCriteria,
    RegressionCriteria,
    SupervisionPhaseInput,
    SupervisionPhaseState,
    SupervisionPhaseStatus,
    supervision_phase_stream,
    supervision_phase_workflow_id,
)
from runtime.converter import BOUNDARY_CONVERTER
from runtime.settings import Settings
from store.repository import Store
from tests.store.builders import make_facts
from warmline.supervision import mode_for
from workers.supervision import build_worker
from workflows.supervision_phase import SupervisionPhaseWorkflow

pytestmark = pytest.mark.integration

RECORD_ENV = "WARMLINE_RECORD_SUPERVISION_HISTORIES"
DAY = timedelta(days=1)
POLL_SECONDS = 15.0
CRITERIA = PhaseCriteria(
    to_scaling=PromotionCriteria(
        min_days=1,
        min_volume=20,
        min_reviewed_drafts=10,
        min_draft_approval_rate=0.8,
        min_containment_rate=0.6,
        min_csat_delta=-0.5,
    ),
    to_maturity=PromotionCriteria(
        min_days=1,
        min_volume=20,
        min_containment_rate=0.7,
        min_qa_samples=5,
        min_qa_resolution_accuracy=0.9,
    ),
    scaling_regression=RegressionCriteria(min_window_volume=10, containment_rate_below=0.5),
    maturity_regression=RegressionCriteria(
        min_window_volume=10, min_qa_samples=5, qa_resolution_accuracy_below=0.8
    ),
    window_days=7,
)


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    server = Path(sys.executable).parent / "temporal-test-server"
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=BOUNDARY_CONVERTER
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.from_url(f"sqlite:///{tmp_path / 'warmline.db'}")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
async def worker(env: WorkflowEnvironment, store: Store) -> AsyncIterator[None]:
    deps = SimpleNamespace(store=store)
    async with build_worker(env.client, deps, Settings(), max_cached_workflows=0):
        yield


def _intent() -> str:
    return f"billing{uuid.uuid4().hex[:6]}"


def _facts(
    store: Store,
    intent: str,
    at: datetime,
    ai: int,
    contained: int,
    *,
    model_version: str = "v1",
    human: int = 3,
    batch: str = "",
) -> None:
    records: list[RecordInteraction] = []
    for n in range(ai):
        records.append(
            RecordInteraction(
                facts=make_facts(
                    f"{intent}-ai{batch}-{n}",
                    intent=intent,
                    route="ai",
                    pool="ai_contained" if n < contained else "ai_assisted",
                    outcome="contained" if n < contained else "escalated",
                    model_version=model_version,
                    csat=5 if n < contained else 2,
                    total_seconds=240.0,
                    started_at=(at + timedelta(minutes=n)).isoformat(),
                )
            )
        )
    for n in range(human):
        records.append(
            RecordInteraction(
                facts=make_facts(
                    f"{intent}-human{batch}-{n}",
                    intent=intent,
                    route="human",
                    pool="human_only",
                    outcome="human_only",
                    csat=4,
                    started_at=(at + timedelta(minutes=n)).isoformat(),
                )
            )
        )
    store.record_interactions(records)


def _reviews(store: Store, intent: str, at: datetime, count: int, approved: int) -> None:
    for n in range(count):
        store.record_review(
            ReviewRecord(
                interaction_id=f"{intent}-ai-{n}",
                draft_id=f"d-{n}",
                decision=ReviewDecision.APPROVE if n < approved else ReviewDecision.EDIT,
                reviewer_id="sup-1",
                decided_at=at + timedelta(minutes=n),
                intent=intent,
                channel="chat",
                model_version="v1",
            )
        )


async def _start(
    env: WorkflowEnvironment, intent: str, **fields: Any
) -> WorkflowHandle[Any, SupervisionPhaseState]:
    body = SupervisionPhaseInput(
        intent=intent,
        model_version="v1",
        criteria=CRITERIA,
        evaluation_interval_seconds=DAY.total_seconds(),
        sign_off_deadline_seconds=2 * DAY.total_seconds(),
        **fields,
    )
    return await env.client.start_workflow(
        SUPERVISION_PHASE_WORKFLOW,
        body.model_dump(mode="json"),
        id=supervision_phase_workflow_id(intent),
        task_queue=SUPERVISION_TASK_QUEUE,
        result_type=SupervisionPhaseState,
    )


async def _until(
    handle: WorkflowHandle[Any, Any], check: Callable[[SupervisionPhaseStatus], bool]
) -> SupervisionPhaseStatus:
    """Poll the status query in real time (activities run in real time) until ``check``."""
    deadline = asyncio.get_running_loop().time() + POLL_SECONDS
    while True:
        status = await handle.query(SupervisionPhaseWorkflow.status)
        if check(status):
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached; status: {status.model_dump_json()}")
        await asyncio.sleep(0.05)


async def _finish(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Save the history when recording, then end the long-running workflow."""
    target = os.environ.get(RECORD_ENV)
    if target:
        out = Path(target)
        out.mkdir(parents=True, exist_ok=True)
        history = await handle.fetch_history()
        (out / f"{name}.json").write_text(history.to_json())
    await handle.terminate(reason="test finished")


def _kinds(store: Store, intent: str) -> list[str]:
    return [event.kind for event in store.audit_trail(supervision_phase_stream(intent))]


def _cell(store: Store, intent: str) -> SupervisionMode:
    policy = store.active_supervision_policy()
    assert policy is not None
    return mode_for(policy, intent, "chat")[0]


async def _signed_off_to_scaling(
    env: WorkflowEnvironment, store: Store, intent: str
) -> tuple[WorkflowHandle[Any, SupervisionPhaseState], SupervisionPhaseStatus]:
    """The real road to scaling: good pilot evidence, a proposal, a human's sign-off.

    (A client cannot start an intent in a later phase: the carried state is the workflow's.)
    """
    start = await env.get_current_time()
    _facts(store, intent, start + timedelta(hours=1), ai=30, contained=27)
    _reviews(store, intent, start + timedelta(hours=1), count=12, approved=11)
    handle = await _start(env, intent)
    await _until(handle, lambda s: s.state.policy_version is not None)
    assert _cell(store, intent) is SupervisionMode.FULLY_SUPERVISED

    await env.sleep(DAY + timedelta(hours=1))
    status = await _until(handle, lambda s: s.state.pending is not None)
    assert status.state.phase is Phase.PILOT, "nothing moves before a human signs off"
    assert any("containment 0.900 >= 0.6" in r for r in status.state.pending.reasons)  # type: ignore[union-attr]

    await handle.signal(
        SIGN_OFF_SIGNAL, {"approver": "ops-lead", "decision": "approve", "reason": "looks good"}
    )
    return handle, await _until(handle, lambda s: s.state.phase is Phase.SCALING)


async def test_good_evidence_with_sign_off_promotes_and_tells_wfm(
    env: WorkflowEnvironment, store: Store, worker: None
) -> None:
    intent = _intent()
    handle, status = await _signed_off_to_scaling(env, store, intent)
    assert status.mode is SupervisionMode.SEMI_AUTONOMOUS
    assert status.state.history[-1].actor == "ops-lead"
    assert _cell(store, intent) is SupervisionMode.SEMI_AUTONOMOUS
    assert _kinds(store, intent) == [
        "phase_start",
        "promotion_proposed",
        "promotion_signed_off",
        "phase_promotion",
    ]
    wfm = [e for e in store.audit_trail(WFM_EVENTS_STREAM) if e.payload["intent"] == intent]
    assert [e.payload["move"] for e in wfm] == ["start", "promotion"]
    staffing = wfm[-1].payload["staffing"]
    assert staffing["supervised_share_before"] == 1.0
    assert staffing["supervisors_after"] <= staffing["supervisors_before"]
    assert store.verify_audit(supervision_phase_stream(intent)) == (True, None)
    await _finish(handle, "promote_with_sign_off")


async def test_without_sign_off_the_proposal_lapses_and_a_refusal_holds(
    env: WorkflowEnvironment, store: Store, worker: None
) -> None:
    intent = _intent()
    start = await env.get_current_time()
    _facts(store, intent, start + timedelta(hours=1), ai=30, contained=27)
    _reviews(store, intent, start + timedelta(hours=1), count=12, approved=11)
    handle = await _start(env, intent)
    await env.sleep(DAY + timedelta(hours=1))
    first = await _until(handle, lambda s: s.state.pending is not None)
    assert first.state.pending is not None

    await env.sleep(2 * DAY + timedelta(hours=1))
    status = await _until(
        handle, lambda s: any(h.kind == "promotion_lapsed" for h in s.state.history)
    )
    assert status.state.phase is Phase.PILOT
    assert _cell(store, intent) is SupervisionMode.FULLY_SUPERVISED

    await handle.signal(SIGN_OFF_SIGNAL, {"approver": "", "decision": "maybe"})
    await _until(handle, lambda s: s.state.history[-1].kind == "signal_rejected")
    await _until(handle, lambda s: s.state.pending is not None)
    await handle.signal(
        SIGN_OFF_SIGNAL, {"approver": "ops-lead", "decision": "refuse", "reason": "peak season"}
    )
    status = await _until(handle, lambda s: s.state.history[-1].kind == "promotion_refused")
    assert status.state.phase is Phase.PILOT and status.state.pending is None
    kinds = _kinds(store, intent)
    assert "promotion_lapsed" in kinds and "promotion_refused" in kinds
    assert "phase_promotion" not in kinds
    await _finish(handle, "lapse_and_refusal")


async def test_a_regression_demotes_without_waiting_for_anyone(
    env: WorkflowEnvironment, store: Store, worker: None
) -> None:
    intent = _intent()
    handle, _ = await _signed_off_to_scaling(env, store, intent)
    now = await env.get_current_time()
    # Since the promotion, 10 of 60 contained: below scaling's 0.5.
    _facts(store, intent, now + timedelta(hours=1), ai=60, contained=10, batch="-late")
    await env.sleep(DAY + timedelta(hours=1))
    status = await _until(handle, lambda s: s.state.phase is Phase.PILOT)
    assert status.state.history[-1].kind == "demotion"
    assert "containment 0.167 < 0.5" in status.state.history[-1].reasons[0]
    assert _cell(store, intent) is SupervisionMode.FULLY_SUPERVISED
    wfm = [e for e in store.audit_trail(WFM_EVENTS_STREAM) if e.payload["intent"] == intent]
    assert wfm[-1].payload["move"] == "demotion"
    assert wfm[-1].payload["staffing"]["supervised_share_after"] == 1.0
    await _finish(handle, "demote_on_regression")


async def test_a_new_model_version_starts_the_intent_in_pilot_again(
    env: WorkflowEnvironment, store: Store, worker: None
) -> None:
    intent = _intent()
    handle, _ = await _signed_off_to_scaling(env, store, intent)
    await handle.signal(NEW_MODEL_VERSION_SIGNAL, {"version": "v2"})
    status = await _until(handle, lambda s: s.state.phase is Phase.PILOT)
    assert status.state.model_version == "v2"
    assert status.state.history[-1].kind == "reset"
    assert _cell(store, intent) is SupervisionMode.FULLY_SUPERVISED

    await handle.signal(NEW_MODEL_VERSION_SIGNAL, {"version": "v2"})
    await _until(handle, lambda s: s.state.history[-1].kind == "model_version_unchanged")
    await _finish(handle, "new_model_version")


async def test_history_stays_bounded_through_continue_as_new(
    env: WorkflowEnvironment, store: Store, worker: None
) -> None:
    intent = _intent()
    handle = await _start(env, intent, max_evaluations_per_run=2)
    await env.sleep(3 * DAY + timedelta(hours=1))
    status = await _until(handle, lambda s: s.state.run_index >= 1)
    assert status.state.phase is Phase.PILOT
    assert status.state.evaluations >= 2
    latest = env.client.get_workflow_handle(supervision_phase_workflow_id(intent))
    await latest.terminate(reason="test finished")


async def test_invalid_input_fails_at_once_naming_the_field(
    env: WorkflowEnvironment, worker: None
) -> None:
    handle = await env.client.start_workflow(
        SUPERVISION_PHASE_WORKFLOW,
        {"intent": "", "evaluation_interval_seconds": 0},
        id=f"supervision-phase-invalid-{uuid.uuid4().hex[:6]}",
        task_queue=SUPERVISION_TASK_QUEUE,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert "intent" in cause.message and "evaluation_interval_seconds" in cause.message
