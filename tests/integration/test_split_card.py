"""A card number split over two customer messages never reaches the store, the (decrypted)
workflow history or the ACD: the first part is masked when it arrives, the second completes it
and the earlier kept text is revised to the same ``[CARD_1]`` token (real dev server, workers,
ACD simulator, store)."""

from __future__ import annotations

import re

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History

from models.interaction import Reply
from models.routing import RoutingConfig, ThresholdRule
from runtime.history import iter_payloads
from tests.integration.conftest import Stack
from tests.polling import eventually

pytestmark = pytest.mark.integration

HEAD, TAIL = "4539 1488", "0343 6467"
CARD_DIGITS = "4539148803436467"
CLIENT_INPUTS = {
    "workflow_execution_started_event_attributes",
    "workflow_execution_update_accepted_event_attributes",
    "workflow_execution_update_admitted_event_attributes",
    "workflow_execution_signaled_event_attributes",
}
"""What the CCaaS itself sent (as typed, encrypted at rest); everything else the workflow wrote."""


def to_humans(config: RoutingConfig) -> RoutingConfig:
    return config.model_copy(
        update={"intent_map": {}, "thresholds": [ThresholdRule(ai_min=1.0, monitored_min=1.0)]}
    )


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def leaks(text: str) -> bool:
    """Either half of the card, or the whole, in ``text`` (spacing ignored)."""
    return any(part in digits(text) for part in (digits(HEAD), digits(TAIL)))


async def decoded(stack: Stack, payloads: list[Payload]) -> list[str]:
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    plain = await codec.decode(payloads)
    return [p.data.decode("utf-8", "replace") for p in plain]


async def test_a_card_split_over_two_messages_is_never_kept(stack: Stack) -> None:
    await stack.use_config(to_humans)
    handle, first = await stack.open(
        f"I want to file a formal complaint, I paid with my card {HEAD}"
    )
    assert first.kind == "handover_notice"
    iid = handle.id.removeprefix("interaction-")
    await eventually(lambda: stack.acd.transfer_for_interaction(iid) is not None, "transfer")
    transfer = stack.acd.transfer_for_interaction(iid)
    assert transfer is not None
    assert transfer.request.context.transcript[0].text.endswith("card [NUMBER_1]")

    second = await handle.execute_update(
        "send_message", {"text": f"{TAIL} and nothing ever arrived"}, result_type=Reply
    )
    assert second.text
    await eventually(lambda: bool(transfer.messages), "the second message forwarded")
    assert transfer.messages[0].text.startswith("[CARD_1] and nothing")

    status = await handle.query("status")
    customer = [e["text"] for e in status["transcript"] if e["sender"] == "customer"]
    assert customer[0].endswith("card [CARD_1]"), "the earlier kept text was revised"
    await stack.acd.resume()
    await handle.result()

    # The ACD: the hand-over package and every forwarded message.
    assert not leaks(transfer.request.model_dump_json())
    assert not any(leaks(m.model_dump_json()) for m in transfer.messages)
    # The store: facts, audit, archived transcript and decisions.
    assert not leaks(stack.store.get_facts(iid).model_dump_json())  # type: ignore[union-attr]
    assert not any(leaks(e.model_dump_json()) for e in stack.store.audit_trail(handle.id))
    archive = stack.store.interaction_archive(iid)
    assert archive is not None and not leaks(archive.model_dump_json())
    # The history, decrypted: the whole card nowhere; the halves only where the CCaaS sent them.
    history = History(events=(await handle.fetch_history()).events)
    written = 0
    for event in history.events:
        texts = await decoded(stack, list(iter_payloads(event)))
        assert not any(CARD_DIGITS in digits(t) for t in texts)
        if event.WhichOneof("attributes") not in CLIENT_INPUTS:
            written += len(texts)
            assert not any(leaks(t) for t in texts), event.WhichOneof("attributes")
    assert written > 5, "the workflow's own payloads were read"
