"""Issue 12 on the real dev server: what a hostile or careless client can no longer do to an
interaction (hang it, hijack a turn, overfill it), each answered with a clear error."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute
from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.testing import ActivityEnvironment

from activities.interaction import InteractionActivities
from models.ai import AIRequest, ChatTurn
from models.interaction import Outcome, Reply, StatusView
from simulators.server import serve_app
from tests.integration.conftest import Stack
from tests.integration.test_interaction import force_ai
from tests.polling import until

pytestmark = pytest.mark.integration

CARD = "4111 1111 1111 1111"
WAIT = 60.0
"""Generous bound on every await here: a hang fails the test instead of the session."""


async def update_error(call: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await asyncio.wait_for(call, WAIT)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def send(handle: WorkflowHandle[Any, Any], text: str, message_id: str | None) -> Reply:
    call = handle.execute_update(
        "send_message", {"text": text, "message_id": message_id}, result_type=Reply
    )
    return await asyncio.wait_for(call, WAIT)


async def status_of(handle: WorkflowHandle[Any, Any]) -> StatusView:
    return await handle.query("status", result_type=StatusView)


async def end(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.signal("end_interaction", {"reason": "test finished"})
    await asyncio.wait_for(handle.result(), WAIT)


async def test_a_reused_message_id_with_other_text_is_refused(stack: Stack) -> None:
    await stack.use_config(force_ai)
    handle, _ = await stack.open("Where is my parcel?")
    first = await send(handle, "Has it shipped yet?", "m-1")
    error = await update_error(
        handle.execute_update("send_message", {"text": "Cancel my order", "message_id": "m-1"})
    )
    assert error.type == "MessageIdReused" and "m-1" in error.message
    assert await send(handle, "Has it shipped yet?", "m-1") == first
    assert (await status_of(handle)).turns == 2
    await end(handle)


async def test_await_reply_beyond_the_next_turn_is_refused_at_once(stack: Stack) -> None:
    handle, _ = await stack.open("Where is my parcel?")
    error = await update_error(handle.execute_update("await_reply", {"turn": 7}))
    assert error.type == "InvalidInput" and "beyond the next turn (2)" in error.message
    error = await update_error(handle.execute_update("await_reply", {"turn": 10**9}))
    assert error.type == "InvalidInput" and "turn" in error.message
    await end(handle)


async def test_a_refused_customer_message_never_leaves_its_reply_awaited(stack: Stack) -> None:
    await stack.use_config(force_ai)
    handle, _ = await stack.open("Where is my parcel?")
    waiting = await handle.start_update(
        "await_reply", {"turn": 2}, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    await handle.signal("customer_message", {"text": CARD * 2_000})
    error = await update_error(waiting.result())
    assert error.type == "MessageRefused" and "customer_message" in error.message
    assert CARD not in error.message
    status = await status_of(handle)
    assert any(i.startswith("customer_message: text") for i in status.ignored)
    await end(handle)


async def test_oversized_metadata_fails_the_start_naming_the_bound(stack: Stack) -> None:
    body = stack.body("Hi", "chat", metadata={f"k{n}": CARD for n in range(100)})
    handle = await stack.client.start_workflow(
        "InteractionWorkflow",
        body,
        id=f"interaction-{body['interaction_id']}",
        task_queue="interactions",
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), WAIT)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert "metadata" in cause.message and "at most 64 keys" in cause.message
    assert CARD not in cause.message


async def test_a_client_awaiting_the_next_turn_cannot_hold_back_continue_as_new(
    stack: Stack,
) -> None:
    """The await for a turn not yet taken is released when the run continues as new (the
    client awaits it again and the next run answers); before, the run waited for that turn."""
    await stack.use_config(lambda c: force_ai(c).model_copy(update={"max_turns_per_run": 2}))
    handle, _ = await stack.open("Where is my parcel?")
    await handle.signal("customer_message", {"text": "And the invoice?"})
    waiting = await handle.start_update(
        "await_reply", {"turn": 3}, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    error = await update_error(waiting.result())
    assert error.type == "ContinuedAsNew"
    status = await until(
        lambda: status_of(handle), lambda s: s.run_count >= 2, "the run continued as new"
    )
    assert status.turns == 2
    again = await handle.start_update(
        "await_reply", {"turn": 3}, result_type=Reply, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    await handle.signal("customer_message", {"text": "Thanks, that solved it"})
    assert (await asyncio.wait_for(again.result(), WAIT)).turn == 3
    result = await asyncio.wait_for(handle.result(), WAIT)
    assert result.outcome is Outcome.CONTAINED


async def test_an_interaction_id_is_never_started_twice(stack: Stack) -> None:
    """The reference client starts with ``REJECT_DUPLICATE``: a closed interaction's id is
    refused, not silently restarted as a new interaction under the old name."""
    iid = f"reuse-{uuid.uuid4().hex[:8]}"
    handle, _ = await stack.open("Where is my parcel?", interaction_id=iid)
    await end(handle)
    with pytest.raises(WorkflowAlreadyStartedError):
        await stack.open("Where is my parcel?", interaction_id=iid)


async def test_an_unknown_upstream_intent_never_becomes_the_interactions_intent(
    stack: Stack,
) -> None:
    """An IVR label is outside text: only a known intent reaches the policy, the metrics'
    labels and the search attributes; an unknown one is replaced by the model's reading."""
    forged = "x_{}_injected" + CARD.replace(" ", "")[:8]
    handle, _ = await stack.open(
        "I want a copy of my invoice", upstream_intent={"intent": forged, "confidence": 1.0}
    )
    status = await status_of(handle)
    assert status.intent is not None and status.intent != forged
    reasons = status.decisions[0]["reasons"]
    assert "upstream intent is not a known intent" in " ".join(reasons)
    assert forged not in str(status.decisions)
    described = await handle.describe()
    assert forged not in str(described.typed_search_attributes)
    await end(handle)
    known, _ = await stack.open("Hello", upstream_intent={"intent": "invoice_copy"})
    assert (await status_of(known)).intent == "invoice_copy"
    await end(known)


async def test_the_ai_call_goes_where_the_routing_config_says_not_where_a_request_says(
    stack: Stack,
) -> None:
    """Endpoint details are resolved by the activity from the routing config by name and
    version: a request carrying another URL or key variable cannot redirect the call (and the
    credentials it sends)."""
    hits: list[str] = []

    async def attacker(request: Request) -> Response:
        hits.append(request.headers.get("authorization", ""))
        return JSONResponse({})

    app = Starlette(routes=[HttpRoute("/{path:path}", attacker, methods=["GET", "POST"])])
    config = stack.default_config()
    live = config.ai_endpoints[0]
    async with serve_app(app) as url:
        forged = AIRequest(
            interaction_id="forged-1",
            turn=1,
            idempotency_key=f"forged-{uuid.uuid4().hex}",
            endpoint=live.model_copy(update={"url": f"{url}/v1", "api_key_env": "PATH"}),
            intent="order_status",
            messages=[ChatTurn(role="user", content="Where is my parcel?")],
        )
        activities = InteractionActivities(stack.deps)
        reply = await ActivityEnvironment().run(activities.invoke_ai, forged)
        assert reply.text and hits == []
        unknown = forged.model_copy(
            update={"endpoint": live.model_copy(update={"name": "nobody", "url": f"{url}/v1"})}
        )
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(activities.invoke_ai, unknown)
        assert raised.value.type == "EndpointUnknown" and raised.value.non_retryable
        assert hits == []
