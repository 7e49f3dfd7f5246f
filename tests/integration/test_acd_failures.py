"""ACD faults never fail an interaction (issue 12): on the real dev server, with the simulated
ACD answering injected HTTP errors (``AcdSimulator.fail``) where a real one has closed queues
and outages, each fault ends in a defined, audited outcome the customer is told truthfully."""

from __future__ import annotations

from typing import Any

import pytest

from models.interaction import InteractionResult, Outcome, Reply
from tests.integration.conftest import Stack
from tests.integration.test_interaction import first_reply, force_ai, send
from warmline.lifecycle import wording

pytestmark = pytest.mark.integration

FRAUD = "Someone used my card without permission, I want to report fraud on my account"


def audited(stack: Stack, result: InteractionResult, kind: str) -> list[dict[str, Any]]:
    trail = stack.store.audit_trail(f"interaction-{result.interaction_id}")
    return [event.payload for event in trail if event.kind == kind]


def callbacks_for(stack: Stack, interaction_id: str) -> list[str]:
    return [cid for cid, r in stack.acd.callbacks.items() if r.interaction_id == interaction_id]


async def test_a_queue_the_acd_refuses_is_tried_once_as_general(stack: Stack) -> None:
    stack.acd.fail("transfer", 422)
    handle, reply = await stack.open(FRAUD)
    assert reply.kind == "handover_notice", reply
    await stack.acd.resume()
    result = await handle.result()
    assert result.outcome is Outcome.HUMAN_ONLY
    [failed] = audited(stack, result, "transfer_failed")
    assert failed["queue"] != "general"
    assert audited(stack, result, "transfer_rerouted") == [
        {"from": failed["queue"], "to": "general"}
    ]
    [transfer] = [
        t
        for t in stack.acd.transfers.values()
        if t.request.context.interaction_id == result.interaction_id
    ]
    assert transfer.queue == "general"


async def test_a_transfer_the_acd_never_takes_books_a_real_callback(stack: Stack) -> None:
    stack.acd.fail("transfer", 422, times=2)  # the specialist queue, then general
    handle, reply = await stack.open(FRAUD)
    assert reply.kind == "consent_request", "a callback needs the customer's yes (TCPA)"
    assert (await send(handle, "yes")).text == wording.CALLBACK_CONFIRMED
    result = await handle.result()
    assert result.outcome is Outcome.CALLBACK
    assert len(callbacks_for(stack, result.interaction_id)) == 1
    assert audited(stack, result, "callback_scheduled")
    assert not [
        t
        for t in stack.acd.transfers.values()
        if t.request.context.interaction_id == result.interaction_id
    ]


async def test_a_callback_the_acd_refuses_is_told_not_promised(stack: Stack) -> None:
    stack.acd.fail("transfer", 422, times=2)
    stack.acd.fail("callback", 422)
    handle, reply = await stack.open(FRAUD)
    assert reply.kind == "consent_request"
    assert (await send(handle, "yes")).text == wording.CALLBACK_NOT_BOOKED
    result = await handle.result()
    assert result.outcome is Outcome.CALLBACK
    assert callbacks_for(stack, result.interaction_id) == []
    [failed] = audited(stack, result, "callback_failed")
    assert "422" in failed["error"]
    assert result.close_reason == "callback_booking_failed"


async def test_a_message_the_agent_never_got_is_told_as_not_delivered(stack: Stack) -> None:
    await stack.use_config(force_ai)
    handle = await stack.start("Where is my order?")
    await first_reply(handle)
    assert (await send(handle, "Can I speak to a real person please")).kind == "handover_notice"
    stack.acd.fail("forward", 422)
    lost: Reply = await send(handle, "My order number is 12345")
    assert lost.kind == "not_delivered" and lost.text == wording.NOT_DELIVERED
    kept = await send(handle, "My order number is 12345, again")
    assert kept.kind != "not_delivered"
    await handle.signal("human_resolved", {"agent_id": "agent-1"})
    result = await handle.result()
    assert result.outcome is Outcome.ESCALATED
    assert len(audited(stack, result, "forward_failed")) == 1
