"""Contract fuzzing on the real dev server (issue 12, item 8).

Hypothesis generates start inputs and sequences of signals and updates: wrong types, huge values,
unknown fields, unicode, repeated message ids, turns out of order. Each call must get a clear
error (a known error type, naming no raw value) or a defined behaviour, and every interaction
must still complete, with no workflow task failing on the way. Bounded: a fixed number of
examples (``derandomize``, so the corpus is the same on every run) and a deadline on each wait.

Hypothesis drives synchronous examples, so they run in a worker thread and hand each step to the
session's event loop (where the Temporal client and workers live).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from models.interaction import (
    INTERACTION_TASK_QUEUE,
    INTERACTION_WORKFLOW,
    InteractionResult,
    StatusView,
    interaction_workflow_id,
)
from tests.integration.conftest import Stack
from tests.integration.test_interaction import force_ai

pytestmark = pytest.mark.integration

T = TypeVar("T")
WAIT = 60.0
MARK = "4111111111111111"
"""Planted in generated values: no error message may echo it."""
UPDATE_ERRORS = {
    "InvalidInput",
    "InteractionClosed",
    "MessageIdReused",
    "ReplyNotKept",
    "TooManyTurns",
    "TooManyQueued",
    "MessageRefused",
    "ContinuedAsNew",
    "TooManySwitches",
}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.just(MARK)
    | st.just("x" * 25_000)
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def near(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid object with some fields replaced, removed or added, or anything at all."""
    keys = st.sampled_from(sorted(valid))
    replaced = st.tuples(keys, anything).map(lambda kv: valid | {kv[0]: kv[1]})
    removed = keys.map(lambda k: {n: v for n, v in valid.items() if n != k})
    added = st.tuples(st.text(min_size=1, max_size=12), anything).map(
        lambda kv: valid | {kv[0]: kv[1]}
    )
    return st.one_of(st.just(valid), replaced, removed, added, anything)


def valid_start() -> dict[str, Any]:
    return {
        "interaction_id": f"fz-{uuid.uuid4().hex[:10]}",
        "channel": "chat",
        "customer": {"id": "c-fuzz"},
        "first_message": "Where is my parcel?",
        "metadata": {"queue": "general"},
    }


def _not_an_end(payload: Any) -> bool:
    """A valid end closes the interaction: the sequence ends it itself, last."""
    return not (isinstance(payload, dict) and set(payload) <= {"reason", "csat"})


texts = st.text(min_size=1, max_size=60) | st.just("x" * 25_000) | st.just(f"card {MARK}")
message_ids = st.none() | st.sampled_from(["m-1", "m-2", "m-3"]) | st.text(max_size=200)
operations = st.one_of(
    st.tuples(st.just("send_message"), near({"text": "And my invoice?", "message_id": "m-1"})),
    st.tuples(
        st.just("send_message"),
        st.builds(lambda t, m: {"text": t, "message_id": m}, texts, message_ids),
    ),
    st.tuples(st.just("await_reply"), near({"turn": 1})),
    st.tuples(st.just("await_reply"), st.builds(lambda n: {"turn": n}, st.integers(-3, 8))),
    st.tuples(st.just("switch_channel"), near({"channel": "email"})),
    st.tuples(st.just("customer_message"), near({"text": "Hello again", "message_id": "m-2"})),
    st.tuples(st.just("request_human"), near({"reason": "pressed 0"})),
    st.tuples(st.just("human_accepted"), near({"agent_id": "agent-9"})),
    st.tuples(st.just("review_response"), anything),
    st.tuples(st.just("end_interaction"), near({"reason": "bye"}).filter(_not_an_end)),
)


def in_loop(loop: asyncio.AbstractEventLoop, coro: Awaitable[T]) -> T:
    return asyncio.run_coroutine_threadsafe(_bounded(coro), loop).result(WAIT * 2)


async def _bounded(coro: Awaitable[T]) -> T:
    return await asyncio.wait_for(coro, WAIT)


def clear(error: ApplicationError, allowed: set[str]) -> None:
    assert error.type in allowed, f"{error.type}: {error.message}"
    assert MARK not in error.message and "x" * 100 not in error.message, error.message


async def completes(handle: WorkflowHandle[Any, Any]) -> None:
    """The interaction ends when asked, and no workflow task failed on the way."""
    with contextlib.suppress(RPCError):  # already closed by the conversation itself
        await handle.signal("end_interaction", {"reason": "fuzz finished"})
    result = await asyncio.wait_for(handle.result(), WAIT)
    InteractionResult.model_validate(result)
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events


async def test_generated_start_inputs_fail_clearly_or_complete(stack: Stack) -> None:
    loop = asyncio.get_running_loop()
    seen: list[str] = []  # what each example met (hypothesis statistics)
    met: Counter[str] = Counter()

    async def one(body: Any) -> None:
        iid = body.get("interaction_id") if isinstance(body, dict) else None
        workflow_id = (
            interaction_workflow_id(iid) if isinstance(iid, str) and len(iid) < 200 else None
        )
        handle = await stack.client.start_workflow(
            INTERACTION_WORKFLOW,
            body,
            id=workflow_id or f"interaction-fz-{uuid.uuid4().hex[:10]}",
            task_queue=INTERACTION_TASK_QUEUE,
        )
        try:
            await completes(handle)
            seen.append("start: completed")
        except WorkflowFailureError as failure:
            seen.append("start: InvalidInput")
            cause = failure.cause
            assert isinstance(cause, ApplicationError), cause
            clear(cause, {"InvalidInput"})
            assert cause.non_retryable

    @FUZZ
    @given(body=st.builds(valid_start).flatmap(near))
    def example(body: Any) -> None:
        seen.clear()
        in_loop(loop, one(body))
        for label in seen:
            event(label)
            met[label] += 1

    await stack.use_config(force_ai)
    await asyncio.to_thread(example)
    print(dict(met))
    assert met["start: completed"] and met["start: InvalidInput"], met


async def test_generated_signals_and_updates_get_clear_answers_and_it_completes(
    stack: Stack,
) -> None:
    loop = asyncio.get_running_loop()
    seen: list[str] = []  # what each example met (hypothesis statistics)
    met: Counter[str] = Counter()

    async def one(steps: list[tuple[str, Any]]) -> None:
        handle, _ = await stack.open("Where is my parcel?", interaction_id=f"fz-{uuid.uuid4().hex}")
        waiting: list[WorkflowUpdateHandle[Any]] = []
        for name, payload in steps:
            try:
                await step(handle, name, payload, waiting)
            except RPCError:
                # The conversation closed itself (the AI resolved it): nothing more to send.
                description = await handle.describe()
                assert description.status != WorkflowExecutionStatus.RUNNING
                break
        status = await handle.query("status", result_type=StatusView)
        assert all(MARK not in entry for entry in status.ignored)
        await completes(handle)
        for update in waiting:  # no client is left awaiting a reply that never comes
            try:
                await asyncio.wait_for(update.result(), WAIT)
            except WorkflowUpdateFailedError as failed:
                assert isinstance(failed.cause, ApplicationError), failed.cause
                clear(failed.cause, UPDATE_ERRORS)

    async def step(
        handle: WorkflowHandle[Any, Any],
        name: str,
        payload: Any,
        waiting: list[WorkflowUpdateHandle[Any]],
    ) -> None:
        if name in ("send_message", "switch_channel"):
            try:
                await asyncio.wait_for(handle.execute_update(name, payload), WAIT)
                seen.append(f"{name}: answered")
            except WorkflowUpdateFailedError as failed:
                assert isinstance(failed.cause, ApplicationError), failed.cause
                clear(failed.cause, UPDATE_ERRORS)
                seen.append(f"{name}: {failed.cause.type}")
        elif name == "await_reply":
            try:
                waiting.append(
                    await handle.start_update(
                        name, payload, wait_for_stage=WorkflowUpdateStage.ACCEPTED
                    )
                )
                seen.append(f"{name}: accepted")
            except WorkflowUpdateFailedError as failed:
                assert isinstance(failed.cause, ApplicationError), failed.cause
                clear(failed.cause, UPDATE_ERRORS)
        else:
            await handle.signal(name, payload)
            seen.append(f"{name}: sent")

    @FUZZ
    @given(steps=st.lists(operations, min_size=1, max_size=6))
    def example(steps: list[tuple[str, Any]]) -> None:
        seen.clear()
        in_loop(loop, one(steps))
        for label in seen:
            event(label)
            met[label] += 1

    await stack.use_config(force_ai)
    await asyncio.to_thread(example)
    print(dict(met))
    answered = sum(n for label, n in met.items() if label.endswith(": answered"))
    refused = sum(n for label, n in met.items() if label.split(": ")[-1] in UPDATE_ERRORS)
    assert answered and refused, met
