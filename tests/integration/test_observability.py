"""Traces and logs of a real interaction: the SDK's tracing interceptor end to end, JSON logs.

Real stack (dev server, workers, simulators over HTTP). Spans go to an in-memory exporter
instead of a collector, the one stand-in: an OTLP collector cannot run here.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import activity, workflow
from temporalio.client import Client

from models.interaction import INTERACTION_WORKFLOW, interaction_workflow_id
from runtime.logs import configure_logging
from runtime.settings import Settings
from runtime.tracing import Tracing, build_tracing
from tests.integration.conftest import Stack
from tests.integration.test_interaction import first_reply, force_ai, send
from workers.interaction import interaction_worker

pytestmark = pytest.mark.integration

SECRET_WORD = "zanzibarquux"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def tracing() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracing = build_tracing(SimpleSpanProcessor(exporter))
    tracing.instrument_httpx()
    try:
        yield tracing, exporter
    finally:
        tracing.close()


def parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next((s for s in spans if s.context.span_id == span.parent.span_id), None)


def ancestry(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    names = []
    current: ReadableSpan | None = span
    while current is not None:
        names.append(current.name)
        current = parent_of(current, spans)
    return names


async def test_a_turn_is_one_trace_from_client_to_the_ai_http_call(
    stack: Stack, tracing: tuple[Tracing, InMemorySpanExporter]
) -> None:
    tracer, exporter = tracing
    await stack.use_config(force_ai)
    config = stack.client.config()
    config["interceptors"] = [tracer.interceptor]
    traced = Client(**config)
    queue = f"traced-{uuid.uuid4().hex[:6]}"
    body = stack.body("How do I change my delivery address?", "chat")
    async with interaction_worker(traced, stack.deps, stack.settings, task_queue=queue):
        handle = await traced.start_workflow(
            INTERACTION_WORKFLOW,
            body,
            id=interaction_workflow_id(body["interaction_id"]),
            task_queue=queue,
        )
        await first_reply(handle)
        await send(handle, "And can it arrive on Saturday?")
        await handle.signal("end_interaction", {})
        await handle.result()

    spans = list(exporter.get_finished_spans())
    names = {s.name for s in spans}
    assert "StartWorkflow:InteractionWorkflow" in names
    assert "RunWorkflow:InteractionWorkflow" in names
    assert "StartWorkflowUpdate:send_message" in names
    ai_calls = [
        s
        for s in spans
        if s.kind.name == "CLIENT"
        and str(
            (s.attributes or {}).get("url.full", (s.attributes or {}).get("http.url", ""))
        ).startswith(stack.settings.ai_fleet_url)
    ]
    assert ai_calls, f"no httpx span for the AI call among {sorted(names)}"
    for call in ai_calls:
        chain = ancestry(call, spans)
        # httpx request <- activity <- workflow (or its update handler) <- the client's call
        assert any(n.startswith("RunActivity:") for n in chain), chain
        assert chain[-1].startswith(("StartWorkflow:", "StartWorkflowUpdate:")), chain
        root = next(s for s in spans if s.name == chain[-1] and s.parent is None)
        assert call.context.trace_id == root.context.trace_id
    # Spans carry ids and URLs, never what the customer wrote.
    for span in spans:
        assert "delivery address" not in json.dumps(dict(span.attributes or {}))


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The process logging ``warmline worker`` sets up with ``WARMLINE_LOG_FORMAT=json``, at
    DEBUG, put back afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    flags = (workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message)
    configure_logging(Settings(log_format="json", log_level="DEBUG"), stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        workflow.logger.workflow_info_on_message = flags[0]
        activity.logger.activity_info_on_message = flags[1]


async def test_json_logs_carry_ids_and_never_customer_text(
    stack: Stack, json_logs: io.StringIO
) -> None:
    await stack.use_config(force_ai)
    handle, _ = await stack.open(f"Card {CARD} was charged twice, says {SECRET_WORD}")
    await send(handle, f"{SECRET_WORD} again, my mail is jane.roe@example.com")
    # An invalid signal payload is logged by the workflow (with the ids as fields).
    await handle.signal("customer_message", {"text": 42, "note": SECRET_WORD})
    await handle.signal("end_interaction", {})
    await handle.result()

    lines: list[dict[str, Any]] = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert lines, "the interaction logged nothing"
    text = json_logs.getvalue()
    assert SECRET_WORD not in text and CARD not in text and "jane.roe" not in text
    iid = handle.id.removeprefix("interaction-")
    mine = [line for line in lines if line.get("interaction_id") == iid]
    assert mine, "no log line names the interaction"
    assert all(line["workflow_id"] == handle.id and line.get("run_id") for line in mine)
    assert any("signal customer_message rejected" in line["message"] for line in mine)
    # The SDK's info dict is a field, not appended to the message.
    assert not any("'workflow_id'" in line["message"] for line in mine)
