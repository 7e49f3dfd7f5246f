"""ACD and AI error bodies never reach a failure message in clear (issue 12, item 6).

A real ACD client over loopback HTTP against a small ACD that echoes what it was sent, as a
careless one does: its errors become the activity failures the workflow history and the worker
logs keep, so they must be redacted, bounded and free of the original exception chain."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route as HttpRoute
from temporalio.exceptions import ApplicationError

from activities.interaction import MAX_FAILURE_CHARS, redacted_failures, safe_failure
from models.acd import ContextPackage, TransferRequest
from models.interaction import Channel, Customer, EscalationTrigger
from runtime.acd_client import AcdClient
from simulators.server import serve_app

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"


async def echo_rejected(request: Request) -> Response:
    return PlainTextResponse(f"queue unknown for {CARD} / {EMAIL}: {await request.body()!r}", 422)


async def echo_malformed(request: Request) -> Response:
    return JSONResponse({"transfer": f"{CARD} {EMAIL}"}, 200)


@pytest.fixture
async def acd() -> AsyncIterator[str]:
    app = Starlette(
        routes=[
            HttpRoute("/rejects/transfers", echo_rejected, methods=["POST"]),
            HttpRoute("/malformed/transfers", echo_malformed, methods=["POST"]),
        ]
    )
    async with serve_app(app) as url:
        yield url


def transfer() -> TransferRequest:
    context = ContextPackage(
        interaction_id="i-1",
        workflow_id="interaction-i-1",
        channel=Channel.CHAT,
        customer=Customer(id="c-1"),
        intent="billing",
        confidence=0.9,
        transcript=[],
        trigger=EscalationTrigger.EXPLICIT_REQUEST,
    )
    return TransferRequest(idempotency_key="k", queue="general", context=context)


async def failure_of(acd: str, behaviour: str) -> ApplicationError:
    client = AcdClient(f"{acd}/{behaviour}")
    try:
        with pytest.raises(ApplicationError) as raised, redacted_failures():
            await client.transfer(transfer())
    finally:
        await client.aclose()
    return raised.value


async def test_an_acd_rejection_is_reported_redacted_and_not_retried(acd: str) -> None:
    error = await failure_of(acd, "rejects")
    assert error.type == "AcdRejected" and error.non_retryable
    assert "HTTP 422" in error.message and "[CARD]" in error.message
    assert CARD not in error.message and EMAIL not in error.message
    assert error.__cause__ is None and len(error.message) <= MAX_FAILURE_CHARS


async def test_a_malformed_acd_answer_names_the_fields_never_the_values(acd: str) -> None:
    error = await failure_of(acd, "malformed")
    assert error.type == "BadResponse" and "transfer_id" in error.message
    assert CARD not in error.message and EMAIL not in error.message and "4111" not in error.message
    assert error.__cause__ is None


def test_any_other_error_is_redacted_bounded_and_keeps_its_retry_semantics() -> None:
    error = safe_failure(ConnectionError(f"peer said {CARD} " + "x" * 2000))
    assert error.type == "ConnectionError" and not error.non_retryable
    assert CARD not in error.message and len(error.message) == MAX_FAILURE_CHARS
    kept = safe_failure(ApplicationError(f"AI said {EMAIL}", type="AIBadResponse"))
    assert kept.type == "AIBadResponse" and EMAIL not in kept.message
