"""Decrypted workflow histories for auditors: every payload of a history, decoded by the codec.

``warmline audit export`` joins an interaction's history with its audit records and archive;
Temporal stores the history encrypted (``runtime.codec``), so it is decoded here, in the
process that holds the key ring, and the export itself is audited as a privileged read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.service import RPCError


def iter_payloads(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` inside a proto message (e.g. a whole ``History``), depth first.

    Walks the descriptors rather than a list of event types, so payloads in event types added
    by newer servers (or in maps such as memo and headers) are not missed.
    """
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = value.values()
        elif field.is_repeated:
            values = value
        else:
            values = [value]
        for item in values:
            if not isinstance(item, Message):
                continue  # map of scalars
            if isinstance(item, Payload):
                yield item
            else:
                yield from iter_payloads(item)


async def decode_payloads_in_place(message: Message, codec: PayloadCodec) -> None:
    """Replace every payload inside ``message`` by its decoded form."""
    payloads = list(iter_payloads(message))
    for payload, decoded in zip(payloads, await codec.decode(payloads), strict=True):
        payload.CopyFrom(decoded)


def _readable(payload: Payload) -> Any:
    """A decoded JSON payload's value (what people read), else its metadata only."""
    if payload.metadata.get("encoding") == b"json/plain":
        try:
            return json.loads(payload.data)
        except ValueError:
            pass
    return {"encoding": payload.metadata.get("encoding", b"").decode(errors="replace")}


def _plain(message: Message) -> dict[str, Any]:
    """The message as JSON with every payload replaced by its value."""
    document = MessageToDict(message, preserving_proto_field_name=True)
    values = iter(_readable(p) for p in iter_payloads(message))

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            if "metadata" in node and set(node) <= {"metadata", "data"}:
                return next(values)
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(item) for item in node]
        return node

    plain: dict[str, Any] = swap(document)
    return plain


async def decrypted_runs(client: Client, workflow_id: str) -> list[dict[str, Any]] | None:
    """Every run of ``workflow_id`` (continue-as-new chains), oldest first, decoded; None once
    Temporal no longer has it (namespace retention passed)."""
    codec = client.data_converter.payload_codec
    runs: list[dict[str, Any]] = []
    try:
        async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
            history = await client.get_workflow_handle(
                workflow_id, run_id=execution.run_id
            ).fetch_history()
            proto = History(events=history.events)
            if codec is not None:
                await decode_payloads_in_place(proto, codec)
            runs.append(
                {
                    "run_id": execution.run_id,
                    "started": execution.start_time.isoformat(),
                    "events": [_plain(event) for event in proto.events],
                }
            )
    except RPCError as exc:
        if "not found" in str(exc).lower():
            return None
        raise
    return sorted(runs, key=lambda run: run["started"]) or None
