"""The ACD adapter contract on the real dev server: a retried signal is recorded once.

``TemporalSignaler`` sends every retry of a ``human_accepted`` / ``human_resolved`` signal with
the same request id; Temporal keeps one ``WorkflowExecutionSignaled`` event per request id, so a
retry after a send whose answer was lost does not reach the workflow twice. A workflow that is
gone ends the retries quietly; any other refusal is raised for the ACD's backoff.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError

from simulators.acd import TemporalSignaler, signal_request_id
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


async def test_a_retried_signal_is_recorded_once_and_a_gone_workflow_is_not_an_error(
    stack: Stack,
) -> None:
    handle, _ = await stack.open("Where is my parcel?")
    signaler = TemporalSignaler(stack.client)
    request_id = signal_request_id(handle.id, "review_response", "t-1")
    for _ in range(3):  # the first send, then two retries of it
        await signaler.signal(handle.id, "review_response", {"approved": True}, request_id)
    other = signal_request_id(handle.id, "review_response", "t-2")
    await signaler.signal(handle.id, "review_response", {"approved": True}, other)
    # Signals that arrive during a workflow task are buffered and written when it ends; the
    # termination flushes them, so the closed history holds every accepted signal.
    await handle.terminate("test over")
    events = [e.event_type async for e in handle.fetch_history_events()]
    assert events.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 2
    gone = f"interaction-gone-{uuid.uuid4().hex[:8]}"
    await signaler.signal(gone, "human_accepted", {"agent_id": "a"}, "r-1")  # only logged
    with pytest.raises(RPCError):  # refused otherwise: raised for the ACD's backoff
        await TemporalSignaler(stack.client).signal(handle.id, "", {}, "r-2")
