"""The ACD simulator with a recording Signaler: queueing, reservations, signals, HTTP contract."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from models.acd import ContextPackage, TransferAck, TransferRequest
from models.interaction import (
    Channel,
    Customer,
    EscalationTrigger,
    HumanAccepted,
    HumanResolved,
    Sender,
    TranscriptEntry,
    interaction_workflow_id,
)
from simulators.acd import (
    HUMAN_ACCEPTED_SIGNAL,
    HUMAN_RESOLVED_SIGNAL,
    AcdSimulator,
    HandleTimes,
    SignalRetry,
)
from simulators.server import serve_app
from tests.simulators.recording import WAIT, RecordingSignaler


def constant(seconds: float) -> Callable[[str, random.Random], float]:
    return lambda channel, rng: seconds


@dataclass
class Rig:
    acd: AcdSimulator
    signals: RecordingSignaler
    client: httpx.AsyncClient

    async def transfer(
        self, interaction_id: str, priority: int = 5, queue: str = "general", **extra: Any
    ) -> TransferAck:
        body = {
            "idempotency_key": f"{interaction_workflow_id(interaction_id)}:transfer",
            "queue": queue,
            "context": context(interaction_id, priority).model_dump(mode="json"),
        } | extra
        response = await self.client.post("/transfers", json=body)
        assert response.status_code == 200, response.text
        return TransferAck.model_validate(response.json())

    async def reserve(self, interaction_id: str) -> str:
        body = {
            "idempotency_key": f"{interaction_workflow_id(interaction_id)}:reserve",
            "interaction_id": interaction_id,
            "workflow_id": interaction_workflow_id(interaction_id),
            "queue": "general",
            "channel": "chat",
        }
        response = await self.client.post("/reservations", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["reservation_id"])

    async def until(self, predicate: Callable[[AcdSimulator], bool]) -> None:
        async with asyncio.timeout(WAIT):
            await self.acd.wait_until(predicate)

    async def capacity(self, queue: str = "general") -> dict[str, Any]:
        queues = (await self.client.get("/capacity")).json()["queues"]
        return next(q for q in queues if q["queue"] == queue)


def context(interaction_id: str, priority: int = 5) -> ContextPackage:
    return ContextPackage(
        interaction_id=interaction_id,
        workflow_id=interaction_workflow_id(interaction_id),
        channel=Channel.CHAT,
        customer=Customer(id="cust-1", segment="premium"),
        intent="billing_inquiry",
        confidence=0.81,
        transcript=[
            TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text="my bill is wrong", at="t1"),
            TranscriptEntry(turn=1, sender=Sender.AI, text="Let me check.", at="t2"),
        ],
        ai_assessment="Customer disputes a prorated charge.",
        trigger=EscalationTrigger.EXPLICIT_REQUEST,
        trigger_detail="asked for a person",
        priority=priority,
        metadata={"entry_point": "web_chat", "card": "[REDACTED:card]"},
    )


def rig_fixture(agents: dict[str, int], handle: float, *, auto_accept: bool = True) -> Any:
    @pytest.fixture
    async def rig() -> AsyncIterator[Rig]:
        signals = RecordingSignaler()
        acd = AcdSimulator(signals, agents, constant(handle), auto_accept=auto_accept, seed=7)
        async with serve_app(acd.app()) as url, httpx.AsyncClient(base_url=url) as client:
            yield Rig(acd, signals, client)

    return rig


fast = rig_fixture({"general": 1, "billing": 1}, 0.01)
slow = rig_fixture({"general": 2, "billing": 1}, 30.0)
paused = rig_fixture({"general": 1}, 0.01, auto_accept=False)


async def test_transfer_is_accepted_then_resolved(fast: Rig) -> None:
    ack = await fast.transfer("i-1")
    await fast.signals.wait_for(lambda sent: len(sent) == 2)
    (wf1, name1, accepted), (wf2, name2, resolved) = fast.signals.sent
    assert (name1, name2) == (HUMAN_ACCEPTED_SIGNAL, HUMAN_RESOLVED_SIGNAL)
    assert wf1 == wf2 == "interaction-i-1"
    assert HumanAccepted.model_validate(accepted).transfer_id == ack.transfer_id
    done = HumanResolved.model_validate(resolved)
    assert done.agent_id == accepted["agent_id"] and done.resolution == "resolved"
    assert done.csat is not None and 1 <= done.csat <= 5
    stats = (await fast.client.get("/admin/stats")).json()
    assert (stats["transfers"], stats["accepted"], stats["resolved"]) == (1, 1, 1)


async def test_received_context_is_readable_field_by_field(fast: Rig) -> None:
    await fast.transfer("i-ctx")
    received = (await fast.client.get("/admin/transfers/i-ctx")).json()
    assert received == context("i-ctx").model_dump(mode="json")
    assert (await fast.client.get("/admin/transfers/nope")).status_code == 404


async def test_transfer_is_idempotent(fast: Rig) -> None:
    first = await fast.transfer("i-dup")
    second = await fast.transfer("i-dup")
    assert first.transfer_id == second.transfer_id
    await fast.until(lambda acd: acd.stats.resolved == 1)
    assert [name for _, name, _ in fast.signals.sent] == [
        HUMAN_ACCEPTED_SIGNAL,
        HUMAN_RESOLVED_SIGNAL,
    ]
    stats = (await fast.client.get("/admin/stats")).json()
    assert (stats["transfers"], stats["duplicate_transfers"]) == (1, 1)


async def test_unknown_queue_falls_back_to_general(fast: Rig) -> None:
    await fast.transfer("i-q", queue="no-such-queue")
    await fast.until(lambda acd: acd.stats.accepted == 1)
    (_, accepted), *_ = fast.signals.named(HUMAN_ACCEPTED_SIGNAL)
    assert accepted["agent_id"].startswith("general-agent-")


async def test_priority_then_arrival_order(paused: Rig) -> None:
    for interaction_id, priority in [("low", 2), ("high-1", 8), ("high-2", 8), ("mid", 5)]:
        await paused.transfer(interaction_id, priority)
    await paused.client.post("/admin/resume")
    await paused.until(lambda acd: acd.stats.resolved == 4)
    order = [wf for wf, _ in paused.signals.named(HUMAN_ACCEPTED_SIGNAL)]
    assert order == [
        "interaction-high-1",
        "interaction-high-2",
        "interaction-mid",
        "interaction-low",
    ]


async def test_pause_keeps_the_queue_waiting(paused: Rig) -> None:
    ack = await paused.transfer("i-wait")
    assert ack.queue_position == 1
    for _ in range(20):  # give the dispatcher every chance to (wrongly) assign
        await asyncio.sleep(0)
    assert paused.signals.sent == []
    capacity = await paused.capacity()
    assert (capacity["queued"], capacity["available_agents"]) == (1, 1)
    await paused.client.post("/admin/resume")
    await paused.signals.wait_for(lambda sent: len(sent) == 2)


async def test_withdrawn_transfer_is_never_offered(paused: Rig) -> None:
    ack = await paused.transfer("i-gone")
    withdrawn = await paused.client.delete(f"/transfers/{ack.transfer_id}")
    assert withdrawn.json()["state"] == "withdrawn"
    await paused.transfer("i-next")
    await paused.client.post("/admin/resume")
    await paused.until(lambda acd: acd.stats.resolved == 1)
    assert {wf for wf, _, _ in paused.signals.sent} == {"interaction-i-next"}


async def test_reservation_holds_an_agent_until_released(fast: Rig) -> None:
    reservation_id = await fast.reserve("i-res")
    await fast.until(lambda acd: acd.reservations[reservation_id].state == "held")
    assert (await fast.capacity())["available_agents"] == 0
    await fast.transfer("i-other")  # must wait: the only agent is held
    assert (await fast.capacity())["queued"] == 1
    for _ in range(2):  # releasing twice is harmless and counted once
        released = await fast.client.delete(f"/reservations/{reservation_id}")
        assert released.json()["state"] == "released"
    await fast.signals.wait_for(lambda sent: len(sent) == 2)
    assert fast.signals.sent[0][0] == "interaction-i-other"
    stats = (await fast.client.get("/admin/stats")).json()
    assert (stats["reservations_created"], stats["reservations_released"]) == (1, 1)
    assert (await fast.client.delete("/reservations/rsv-404")).status_code == 404


async def test_reservation_is_converted_by_the_transfer(fast: Rig) -> None:
    reservation_id = await fast.reserve("i-conv")
    assert reservation_id == await fast.reserve("i-conv")  # idempotent
    await fast.until(lambda acd: acd.reservations[reservation_id].state == "held")
    held_by = fast.acd.reservations[reservation_id].agent_id
    await fast.client.post("/admin/pause")  # the held agent takes it anyway
    ack = await fast.transfer("i-conv", reservation_id=reservation_id)
    assert (ack.queue_position, ack.estimated_wait_seconds) == (0, 0.0)
    await fast.signals.wait_for(lambda sent: len(sent) == 2)
    (_, accepted), *_ = fast.signals.named(HUMAN_ACCEPTED_SIGNAL)
    assert accepted["agent_id"] == held_by
    stats = (await fast.client.get("/admin/stats")).json()
    assert (stats["reservations_converted"], stats["duplicate_reservations"]) == (1, 1)


async def test_capacity_and_wait_estimates(slow: Rig) -> None:
    await slow.transfer("a")
    await slow.transfer("b")
    await slow.until(lambda acd: acd.stats.accepted == 2)
    third = await slow.transfer("c")
    # queued ahead 0, agents 2, mean handle 30 s: the next of two agents frees in ~15 s.
    assert (third.queue_position, third.estimated_wait_seconds) == (1, 15.0)
    assert await slow.capacity() == {
        "queue": "general",
        "agents": 2,
        "available_agents": 0,
        "queued": 1,
        "estimated_wait_seconds": 30.0,
    }
    billing = await slow.capacity("billing")
    assert (billing["available_agents"], billing["queued"], billing["estimated_wait_seconds"]) == (
        1,
        0,
        0.0,
    )


async def test_staffing_changes_at_runtime(slow: Rig) -> None:
    for name in ("a", "b", "c"):
        await slow.transfer(name)
    await slow.until(lambda acd: acd.stats.accepted == 2)
    response = await slow.client.post("/admin/agents", json={"queue": "general", "agents": 3})
    assert response.status_code == 200
    await slow.until(lambda acd: acd.stats.accepted == 3)
    await slow.client.post("/admin/agents", json={"queue": "general", "agents": 1})
    assert (await slow.capacity())["agents"] == 1  # busy agents log off when done


async def test_messages_and_callbacks(fast: Rig) -> None:
    await fast.client.post("/admin/pause")
    ack = await fast.transfer("i-msg")
    message = {"transfer_id": ack.transfer_id, "turn": 3, "text": "are you there?"}
    for _ in range(2):
        stored = await fast.client.post(f"/transfers/{ack.transfer_id}/messages", json=message)
        assert stored.json()["messages"] == 1
    lost = message | {"transfer_id": "tr-404"}
    assert (await fast.client.post("/transfers/tr-404/messages", json=lost)).status_code == 404
    mismatch = await fast.client.post("/transfers/tr-404/messages", json=message)
    assert mismatch.status_code == 422
    callback = {
        "idempotency_key": "k",
        "interaction_id": "i-msg",
        "queue": "general",
        "reason": "x",
    }
    first = (await fast.client.post("/callbacks", json=callback)).json()
    second = (await fast.client.post("/callbacks", json=callback)).json()
    assert first == second and first["status"] == "scheduled"
    stats = (await fast.client.get("/admin/stats")).json()
    assert (stats["messages"], stats["callbacks"], stats["duplicate_callbacks"]) == (1, 1, 1)


async def test_invalid_transfer_is_rejected(fast: Rig) -> None:
    response = await fast.client.post("/transfers", json={"queue": "general"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]


async def test_csat_and_handle_time_are_seeded_per_transfer() -> None:
    async def csat(seed: int) -> int | None:
        signals = RecordingSignaler()
        acd = AcdSimulator(signals, {"general": 1}, constant(0.0), seed=seed)
        acd.start()
        key = "interaction-x:transfer"
        await acd.transfer(
            TransferRequest(idempotency_key=key, queue="general", context=context("x"))
        )
        await signals.wait_for(lambda sent: len(sent) == 2)
        await acd.stop()
        return HumanResolved.model_validate(signals.sent[1][2]).csat

    assert await csat(1) == await csat(1)
    times = HandleTimes(time_scale=1 / 200)
    assert times.mean("voice") == pytest.approx(1.8)
    rng = random.Random(0)
    samples = [times("voice", rng) for _ in range(4000)]
    assert sum(samples) / len(samples) == pytest.approx(1.8, rel=0.05)


async def test_a_refused_signal_is_retried_under_one_request_id_not_dropped() -> None:
    """The adapter contract: ``human_accepted`` / ``human_resolved`` are retried with backoff
    until delivered, each retry under the same request id (Temporal then records it once)."""
    signals = RecordingSignaler(refuse_first=2)
    retry = SignalRetry(first=0.01, longest=0.05, give_up_after=WAIT)
    acd = AcdSimulator(signals, {"general": 1}, constant(0.0), signal_retry=retry)
    acd.start()
    await acd.transfer(
        TransferRequest(idempotency_key="interaction-r:t", queue="general", context=context("r"))
    )
    await signals.wait_for(lambda sent: len(sent) == 2)
    await acd.stop()
    assert [name for _, name, _ in signals.sent] == ["human_accepted", "human_resolved"]
    for name in ("human_accepted", "human_resolved"):
        ids = {rid for signal, rid in signals.attempts if signal == name}
        tries = [rid for signal, rid in signals.attempts if signal == name]
        assert len(tries) == 3 and len(ids) == 1, (name, tries)
    assert acd.stats.signal_retries == 4 and acd.stats.resolved == 1


async def test_a_permanent_refusal_or_the_deadline_ends_the_retries() -> None:
    class Refusing:
        def __init__(self, status: RPCStatusCode) -> None:
            self.status, self.attempts = status, 0

        async def signal(
            self, workflow_id: str, signal: str, payload: dict[str, Any], request_id: str
        ) -> None:
            self.attempts += 1
            raise RPCError("no", self.status, b"")

    invalid = Refusing(RPCStatusCode.INVALID_ARGUMENT)
    acd = AcdSimulator(invalid, signal_retry=SignalRetry(first=0.01, give_up_after=WAIT))
    await asyncio.wait_for(acd._signal("wf", "human_accepted", {}, "t-1"), WAIT)
    assert invalid.attempts == 1
    down = Refusing(RPCStatusCode.UNAVAILABLE)
    acd = AcdSimulator(down, signal_retry=SignalRetry(first=0.01, longest=0.02, give_up_after=0.2))
    await asyncio.wait_for(acd._signal("wf", "human_accepted", {}, "t-1"), WAIT)
    assert 3 <= down.attempts <= 20, "retried, then given up at the deadline"


async def test_injected_faults_answer_before_anything_happens(fast: Rig) -> None:
    response = await fast.client.post(
        "/admin/faults", json={"operation": "transfer", "status": 503, "times": 2}
    )
    assert response.status_code == 200 and response.json()["faults"] == {"transfer": [503, 503]}
    body = {
        "idempotency_key": "interaction-i-f:transfer",
        "queue": "general",
        "context": context("i-f").model_dump(mode="json"),
    }
    statuses = [(await fast.client.post("/transfers", json=body)).status_code for _ in range(2)]
    assert statuses == [503, 503] and fast.acd.transfers == {}
    assert (await fast.transfer("i-f")).transfer_id  # the third call is served
    bad = await fast.client.post("/admin/faults", json={"operation": "transfer", "status": 200})
    assert bad.status_code == 422
