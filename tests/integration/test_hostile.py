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
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.testing import ActivityEnvironment

from activities.interaction import MAX_AI_REPLY_CHARS, InteractionActivities
from models.ai import AIRequest, ChatTurn
from models.interaction import MAX_MESSAGE_CHARS, Outcome, Reply, StatusView
from models.routing import AIEndpoint
from runtime.codec import ENCODING
from runtime.history import iter_payloads
from simulators.ai_fleet import FaultMode, FaultRule
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
    # A slow second answer: the await is surely accepted while turn 2 runs, before the run
    # continues as new (an update that reaches the server during that last task is aborted).
    stack.fleet.set_fault(FaultRule(mode=FaultMode.LATENCY, latency_ms=1_000))
    await handle.signal("customer_message", {"text": "And the invoice?"})
    waiting = await handle.start_update(
        "await_reply", {"turn": 3}, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    error = await update_error(waiting.result())
    assert error.type == "ContinuedAsNew"
    stack.fleet.clear_faults()
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


CARRIED_STATE_BOUND = 1_000_000
"""Half of Temporal's 2 MB payload limit: the carried state must stay well inside it."""


async def test_oversized_inputs_keep_the_carried_state_well_inside_temporals_limit(
    stack: Stack,
) -> None:
    """Metadata and messages at their bounds, over several continue-as-new: every carried state
    stays under half the payload limit and the interaction completes."""
    await stack.use_config(lambda c: force_ai(c).model_copy(update={"max_turns_per_run": 3}))
    metadata = {f"key{n:02d}": f"v{n}-" + "m" * 1_000 for n in range(64)}
    longest = ("lorem ipsum " * 2_000)[:MAX_MESSAGE_CHARS]
    handle, _ = await stack.open(longest, metadata=metadata)
    for n in range(26):  # past the 20 transcript entries a run carries: the size levels off
        reply = await send(handle, f"{n} {longest}"[:MAX_MESSAGE_CHARS], f"big-{n}")
        assert reply.turn == n + 2
    # De-duplication survived every continue-as-new: the same id and text, the same reply;
    # the same id with other text, refused.
    again = await send(handle, f"3 {longest}"[:MAX_MESSAGE_CHARS], "big-3")
    assert again.turn == 5 and (await status_of(handle)).turns == 27
    error = await update_error(
        handle.execute_update("send_message", {"text": "other", "message_id": "big-0"})
    )
    assert error.type == "MessageIdReused"
    await end(handle)
    sizes = []
    run_id: str | None = handle.first_execution_run_id or handle.result_run_id
    while run_id:
        run = stack.client.get_workflow_handle(handle.id, run_id=run_id)
        run_id = None
        async for event in run.fetch_history_events():
            attributes = event.workflow_execution_continued_as_new_event_attributes
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                sizes.append(sum(p.ByteSize() for p in attributes.input.payloads))
                run_id = attributes.new_execution_run_id
    print("carried state bytes per continue-as-new:", sizes)
    assert len(sizes) >= 6, sizes
    assert max(sizes) < CARRIED_STATE_BOUND, sizes
    assert max(sizes[-3:]) <= max(sizes[-6:-3]) * 1.05, f"still growing: {sizes}"


async def test_a_runaway_ai_answer_is_a_bad_response_not_state(stack: Stack) -> None:
    """An answer longer than ``MAX_AI_REPLY_CHARS`` would be kept in state and sent to the
    customer: it is refused as a bad response (the turn retries, then fails over)."""

    async def runaway(request: Request) -> Response:
        content = f"{CARD} " + "blah " * (MAX_AI_REPLY_CHARS // 5 + 10)
        return JSONResponse({"choices": [{"message": {"content": content}}], "usage": {}})

    app = Starlette(routes=[HttpRoute("/v1/chat/completions", runaway, methods=["POST"])])
    async with serve_app(app) as url:
        endpoint = AIEndpoint(name="runaway-bot", version="1", url=f"{url}/v1")
        await stack.use_config(
            lambda c: c.model_copy(update={"ai_endpoints": [*c.ai_endpoints, endpoint]})
        )
        request = AIRequest(
            interaction_id="runaway-1",
            turn=1,
            idempotency_key=f"runaway-{uuid.uuid4().hex}",
            endpoint=endpoint,
            intent="order_status",
            messages=[ChatTurn(role="user", content="Where is my parcel?")],
        )
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(InteractionActivities(stack.deps).invoke_ai, request)
    assert raised.value.type == "AIBadResponse" and "at most 8000" in raised.value.message
    assert CARD not in raised.value.message and raised.value.__cause__ is None


async def test_no_endpoint_url_model_or_key_variable_travels_in_history(stack: Stack) -> None:
    """Workflow state and activity inputs name the endpoint; where it lives and how it is
    authenticated stay in the routing config (decrypted history searched for them)."""
    secret_env = "WARMLINE_AI_KEY_HOSTILE_TEST"
    await stack.use_config(
        lambda c: force_ai(c).model_copy(
            update={
                "ai_endpoints": [
                    e.model_copy(update={"api_key_env": secret_env, "model": "model-xyz-7"})
                    for e in c.ai_endpoints
                ]
            }
        )
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(secret_env, "not-a-real-key")
        handle, reply = await stack.open("Where is my parcel?")
        assert reply.text
        await send(handle, "And the invoice?", None)
        await end(handle)
    fetched = await handle.fetch_history()
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    payloads = list(iter_payloads(History(events=fetched.events)))
    decoded = await codec.decode([p for p in payloads if p.metadata.get("encoding") == ENCODING])
    text = b"".join(p.data for p in decoded) + b"".join(p.data for p in payloads)
    assert b"Where is my parcel?" in text, "the walk decoded the history"
    assert b"care-bot" in text, "the endpoint is still named"
    for hidden in (stack.settings.ai_fleet_url, secret_env, "model-xyz-7"):
        assert hidden.encode() not in text, hidden
