"""Walking every payload of a recorded history.

Recording replay fixtures (``warmline corpus record``, the live replay test) decrypts a history
before saving it, because a fixture must replay without a key; the encryption test checks that
no payload holds customer text in clear.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


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
    """Replace every payload inside ``message`` by its decoded form (e.g. before saving a
    history as a replay fixture, which must not depend on a key)."""
    payloads = list(iter_payloads(message))
    for payload, decoded in zip(payloads, await codec.decode(payloads), strict=True):
        payload.CopyFrom(decoded)
