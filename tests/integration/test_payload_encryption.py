"""Customer text never reaches Temporal's history in clear (real dev server, real workers).

The history is fetched by a client without the codec, i.e. what the server, its database and
anyone reading them hold; the same history read through the codec proves the text was there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec
from temporalio.exceptions import ApplicationError

from models.interaction import (
    INTERACTION_TASK_QUEUE,
    INTERACTION_WORKFLOW,
    Reply,
    StatusView,
    interaction_workflow_id,
)
from models.routing import RoutingConfig, ThresholdRule
from runtime.codec import ENCODING, EncryptionCodec, new_key
from runtime.history import iter_payloads
from tests.integration.conftest import Stack
from tests.polling import until

pytestmark = pytest.mark.integration


async def plain_client(stack: Stack) -> Client:
    return await Client.connect(
        stack.client.service_client.config.target_host,
        namespace=stack.client.namespace,
        data_converter=pydantic_data_converter,
    )


def clear_by_design(history: History) -> set[bytes]:
    """Payloads Temporal needs in clear, none of them customer text: search attribute values
    (the server indexes them), the SDK's own local-activity marker bookkeeping (sequence
    number, activity type, timestamps) that core writes next to the encrypted result, and a
    ``workflow.patched`` marker's change id (core writes it without the payload codec)."""
    allowed: set[bytes] = set()
    for event in history.events:
        holders: list[Message] = [
            event.workflow_execution_started_event_attributes.search_attributes,
            event.upsert_workflow_search_attributes_event_attributes.search_attributes,
        ]
        if event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            holders.extend(details[key] for key in ("data", "patch-data") if key in details)
        allowed.update(p.SerializeToString() for holder in holders for p in iter_payloads(holder))
    return allowed


async def raw_history(client: Client, workflow_id: str) -> History:
    fetched = await client.get_workflow_handle(workflow_id).fetch_history()
    return History(events=fetched.events)


def force_ai(config: RoutingConfig) -> RoutingConfig:
    """Every intent to AI, so the interaction takes turns and ends when the test says."""
    return config.model_copy(
        update={"intent_map": {}, "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)]}
    )


async def test_first_and_later_messages_are_encrypted_in_history(stack: Stack) -> None:
    await stack.use_config(force_ai)
    marker = uuid.uuid4().hex[:10]
    first = f"My password reset fails, reference {marker}-first"
    later = f"It still does not work, reference {marker}-later"
    handle, reply = await stack.open(first)
    assert reply.text
    second = await handle.execute_update("send_message", {"text": later}, result_type=Reply)
    assert second.text
    await handle.signal("end_interaction", {"csat": 4})
    result = await handle.result()
    assert result.turns == 2

    history = await raw_history(await plain_client(stack), handle.id)
    payloads = list(iter_payloads(history))
    assert payloads, "the walk found the history's payloads"
    for text in (first, later):
        needle = text.encode()
        assert not any(needle in p.SerializeToString() for p in payloads), text
        assert needle not in history.SerializeToString(), f"{text!r} outside any payload"
        assert marker.encode() not in history.SerializeToString()
    encrypted = [p for p in payloads if p.metadata.get("encoding") == ENCODING]
    assert encrypted, "payloads are encrypted, not merely absent"
    by_design = clear_by_design(history)
    clear = [p for p in payloads if p.metadata.get("encoding") != ENCODING]
    assert all(p.SerializeToString() in by_design for p in clear), [
        p.data for p in clear if p.SerializeToString() not in by_design
    ]

    # The codec-holding client sees the very same history with the text in it.
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    decoded: list[Payload] = await codec.decode(encrypted)
    assert any(first.encode() in p.data for p in decoded)
    assert any(later.encode() in p.data for p in decoded)


async def test_a_plain_client_can_still_start_an_interaction(stack: Stack) -> None:
    """The JSON contract stays usable without the codec; only that input is stored in clear."""
    plain = await plain_client(stack)
    iid = f"plain-{uuid.uuid4().hex[:10]}"
    body = stack.body("Where is my parcel?", "chat", interaction_id=iid)
    await plain.start_workflow(
        INTERACTION_WORKFLOW,
        body,
        id=interaction_workflow_id(iid),
        task_queue=INTERACTION_TASK_QUEUE,
    )
    # Results come back encrypted: reading them takes the codec (Warmline's client here).
    handle = stack.client.get_workflow_handle(interaction_workflow_id(iid))
    reply = await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)
    assert reply.text
    history = await raw_history(plain, handle.id)
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert started.metadata["encoding"] == b"json/plain", "the plain client's input, as sent"
    await handle.terminate("test over")


class Tampering(PayloadCodec):
    """An attacker on the path: seals with the deployment's codec, then flips one bit."""

    def __init__(self, codec: PayloadCodec) -> None:
        self._codec = codec

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        sealed = await self._codec.encode(payloads)
        for payload in sealed:
            payload.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._codec.decode(payloads)


async def client_with(stack: Stack, codec: PayloadCodec) -> Client:
    config = stack.client.config()
    config["data_converter"] = dataclasses.replace(stack.client.data_converter, payload_codec=codec)
    return Client(**config)


async def test_payloads_that_do_not_decrypt_never_hurt_a_live_interaction(stack: Stack) -> None:
    """The issue's codec kill switch: an unknown key id or a tampered payload used to fail the
    live workflow. Now such signals are dropped on the record and such updates are rejected,
    and the interaction carries on to a normal close, without a single failed workflow task."""
    await stack.use_config(force_ai)
    handle, reply = await stack.open("My password reset fails")
    assert reply.text
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    foreign = await client_with(stack, EncryptionCodec(dict([new_key("rotated-early")])))
    tampering = await client_with(stack, Tampering(codec))
    for sender in (foreign, tampering):
        theirs = sender.get_workflow_handle(handle.id)
        await theirs.signal("end_interaction", {"reason": "forged close"})
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await theirs.execute_update("send_message", {"text": "hello"}, result_type=Reply)
        cause = rejected.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
        if sender is tampering:  # the foreign client cannot read our encrypted failure
            assert "payload refused: PayloadTampered" in cause.message
    status = await until(
        lambda: handle.query("status", result_type=StatusView),
        lambda s: len(s.ignored) == 2,
        "both undecryptable signals dropped on the record",
    )
    assert "UnknownPayloadKey" in status.ignored[0] and "PayloadTampered" in status.ignored[1]
    assert status.state.value != "closed", "a forged close never ends the interaction"
    second = await handle.execute_update("send_message", {"text": "Still stuck"}, result_type=Reply)
    assert second.text
    await handle.signal("end_interaction", {"csat": 5})
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.turns == 2
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events
    trail = stack.store.audit_trail(handle.id)
    assert [e.kind for e in trail].count("input_ignored") == 2


async def test_failure_messages_are_encrypted_in_history(stack: Stack) -> None:
    """A failure's message and stack trace go through the codec (encoded attributes): the raw
    history holds neither, while Warmline's client still reads the full error."""
    marker = f"field{uuid.uuid4().hex[:10]}"
    body = stack.body("Hi", "chat") | {marker: "x"}
    handle = await stack.client.start_workflow(
        INTERACTION_WORKFLOW,
        body,
        id=interaction_workflow_id(body["interaction_id"]),
        task_queue=INTERACTION_TASK_QUEUE,
    )
    with pytest.raises(Exception) as failed:
        await asyncio.wait_for(handle.result(), 60)
    cause = failed.value.__cause__
    assert isinstance(cause, ApplicationError) and marker in cause.message, "readable with keys"
    history = await raw_history(await plain_client(stack), handle.id)
    failure = history.events[-1].workflow_execution_failed_event_attributes.failure
    assert failure.message == "Encoded failure" and not failure.stack_trace
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    assert marker.encode() not in history.SerializeToString()
