"""A simulated ACD: human agents in skill queues who accept warm transfers and resolve them.

It stands in for the contact center's real ACD in the demo and in integration tests. It talks
back to Warmline the way a CCaaS adapter would, by signalling the interaction workflow
(``human_accepted`` when an agent picks the contact up, ``human_resolved`` when they finish),
through a ``Signaler`` so unit tests can record signals without a Temporal server.

It follows the adapter contract (``runtime.acd_client``): a signal it fails to send (Temporal
unreachable, restarting, overloaded) is retried with exponential backoff (``SignalRetry``)
instead of dropped, each retry under the same request id, so the one Temporal already took is
not recorded twice. Only a workflow that is gone or a request Temporal refuses as invalid ends
the retries (logged).

Queue discipline: per queue, the highest ``context.priority`` first, then arrival order.
Reservations (parallel orchestration) wait in the same line at the default priority; when
they reach an idle agent the agent is held for them, and a transfer naming the reservation
takes that agent at once. Handle times are lognormal per channel and can be compressed with
``time_scale`` so a six-minute call lasts two seconds in the demo.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.acd import (
    CallbackRequest,
    ForwardMessage,
    ReservationAck,
    ReservationRequest,
    TransferAck,
    TransferRequest,
)
from models.interaction import HumanAccepted, HumanResolved

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger(__name__)

HUMAN_ACCEPTED_SIGNAL = "human_accepted"
HUMAN_RESOLVED_SIGNAL = "human_resolved"
FALLBACK_QUEUE = "general"
DEFAULT_AGENTS_PER_QUEUE: Mapping[str, int] = {"general": 3, "billing": 2, "technical": 2}
DEFAULT_PRIORITY = 5
MEAN_HANDLE_SECONDS: Mapping[str, float] = {"voice": 360, "chat": 480, "email": 240, "social": 300}
HANDLE_TIME_SIGMA = 0.5
UNSTAFFED_WAIT_SECONDS = 86_400.0
"""Estimate for a queue with no agents at all: long enough that callers offer a callback."""
CSAT_WEIGHTS: Mapping[int, int] = {5: 45, 4: 30, 3: 12, 2: 8, 1: 5}

HandleSeconds = Callable[[str, random.Random], float]


class Signaler(Protocol):
    """How the ACD tells an interaction workflow what its human agent did. ``request_id`` is the
    same on every retry of one signal, so the receiver can take it once."""

    async def signal(
        self, workflow_id: str, signal: str, payload: dict[str, Any], request_id: str
    ) -> None: ...


@dataclass(frozen=True)
class SignalRetry:
    """Backoff for signals that could not be sent: ``first`` s, doubling up to ``longest`` s,
    given up (logged) after ``give_up_after`` s - an outage longer than that is an incident an
    operator resolves, and the workflow's own deadlines take over."""

    first: float = 0.2
    longest: float = 5.0
    give_up_after: float = 600.0


PERMANENT_SIGNAL_ERRORS = frozenset(
    {
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.PERMISSION_DENIED,
        RPCStatusCode.UNAUTHENTICATED,
        RPCStatusCode.UNIMPLEMENTED,
    }
)
"""Refusals retrying cannot fix; everything else (unavailable, deadline, resource exhausted,
a dropped connection) is retried."""


def signal_request_id(workflow_id: str, signal: str, transfer_id: str) -> str:
    """One id per (workflow, signal, transfer): every retry of a signal carries the same."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"acd:{workflow_id}:{signal}:{transfer_id}"))


class TemporalSignaler:
    """Signals through a Temporal client with the caller's request id, so Temporal records a
    retried signal it already took only once. A workflow that is already gone is only logged,
    because an ACD finishing a contact the orchestrator gave up on is normal, not an error."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def signal(
        self, workflow_id: str, signal: str, payload: dict[str, Any], request_id: str
    ) -> None:
        client = self._client
        request = SignalWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name=signal,
            identity=client.identity,
            request_id=request_id,
        )
        request.input.payloads.extend(await client.data_converter.encode([payload]))
        try:
            await client.workflow_service.signal_workflow_execution(request, retry=True)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            log.info("ACD: %s not delivered, workflow %s is gone (%s)", signal, workflow_id, exc)


@dataclass(frozen=True)
class HandleTimes:
    """Lognormal handle time per channel whose mean is ``mean_seconds`` x ``time_scale``."""

    time_scale: float = 1.0
    mean_seconds: Mapping[str, float] = field(default_factory=lambda: dict(MEAN_HANDLE_SECONDS))
    sigma: float = HANDLE_TIME_SIGMA

    def mean(self, channel: str) -> float:
        return self.mean_seconds.get(channel, MEAN_HANDLE_SECONDS["chat"]) * self.time_scale

    def __call__(self, channel: str, rng: random.Random) -> float:
        mu = math.log(self.mean(channel)) - self.sigma**2 / 2  # so that E[X] is the mean
        return rng.lognormvariate(mu, self.sigma)


@dataclass
class Agent:
    agent_id: str
    queue: str
    transfer_id: str | None = None
    reservation_id: str | None = None
    retiring: bool = False

    @property
    def idle(self) -> bool:
        return self.transfer_id is None and self.reservation_id is None


@dataclass
class Transfer:
    transfer_id: str
    request: TransferRequest
    queue: str
    state: str = "queued"  # queued | with_agent | resolved | withdrawn
    agent_id: str | None = None
    messages: list[ForwardMessage] = field(default_factory=list)
    csat: int | None = None

    @property
    def waiting(self) -> bool:
        return self.state == "queued"


@dataclass
class Reservation:
    reservation_id: str
    request: ReservationRequest
    queue: str
    state: str = "waiting"  # waiting | held | released | converted
    agent_id: str | None = None
    transfer_id: str | None = None

    @property
    def waiting(self) -> bool:
        return self.state == "waiting"


@dataclass
class AcdStats:
    transfers: int = 0
    duplicate_transfers: int = 0
    reservations_created: int = 0
    duplicate_reservations: int = 0
    reservations_released: int = 0
    reservations_converted: int = 0
    callbacks: int = 0
    duplicate_callbacks: int = 0
    messages: int = 0
    accepted: int = 0
    resolved: int = 0
    withdrawn: int = 0
    signal_retries: int = 0


@dataclass
class _Queue:
    name: str
    agents: list[Agent] = field(default_factory=list)
    line: list[tuple[int, int, str]] = field(default_factory=list)  # heap (-priority, seq, id)

    def idle_agent(self) -> Agent | None:
        return next((a for a in self.agents if a.idle and not a.retiring), None)

    def staffed(self) -> int:
        return sum(not a.retiring for a in self.agents)


class AcdSimulator:
    """The ACD engine; drive it in-process (async methods) or over HTTP (``app()``)."""

    def __init__(
        self,
        signaler: Signaler,
        agents_per_queue: Mapping[str, int] | None = None,
        handle_seconds: HandleSeconds | None = None,
        *,
        time_scale: float = 1.0,
        auto_accept: bool = True,
        seed: int = 0,
        signal_retry: SignalRetry | None = None,
    ) -> None:
        self.signaler = signaler
        self.signal_retry = signal_retry or SignalRetry()
        self.handle_seconds: HandleSeconds = handle_seconds or HandleTimes(time_scale)
        self.seed = seed
        self.paused = not auto_accept
        self.stats = AcdStats()
        self.queues: dict[str, _Queue] = {}
        self.transfers: dict[str, Transfer] = {}
        self.reservations: dict[str, Reservation] = {}
        self.callbacks: dict[str, CallbackRequest] = {}
        self.faults: dict[str, list[int]] = {}  # operation -> HTTP statuses still to answer
        self._by_key: dict[tuple[str, str], str] = {}  # (kind, idempotency key) -> id
        self._agents: dict[str, Agent] = {}
        self._by_interaction: dict[str, str] = {}  # interaction id -> latest transfer id
        self._ids = itertools.count(1)
        self._agent_ids = itertools.count(1)
        self._means: dict[str, float] = {}
        self._changed = asyncio.Condition()
        self._runner: asyncio.Task[None] | None = None
        self._serving: dict[str, asyncio.Task[None]] = {}
        for queue, count in (agents_per_queue or DEFAULT_AGENTS_PER_QUEUE).items():
            self._staff(queue, count)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the dispatcher (idempotent)."""
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self.run(), name="acd-dispatcher")

    async def stop(self) -> None:
        """Cancel the dispatcher and every contact in progress; no further signals are sent."""
        tasks = [t for t in (self._runner, *self._serving.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner = None

    async def run(self) -> None:
        """Match waiting contacts to idle agents whenever something changes."""
        while True:
            async with self._changed:
                await self._changed.wait_for(self._can_dispatch)
                self._dispatch()

    async def wait_until(self, predicate: Callable[[AcdSimulator], bool]) -> None:
        """Block until ``predicate(self)`` holds; re-checked on every state change."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    def app(self) -> Starlette:
        """The HTTP face of this ACD (see ``simulators.acd_http``)."""
        from simulators.acd_http import create_acd_app  # the HTTP module imports this one

        return create_acd_app(self)

    # -- commands (what the HTTP endpoints call) --------------------------------------------

    async def reserve(self, request: ReservationRequest) -> ReservationAck:
        existing = self._by_key.get(("reservation", request.idempotency_key))
        if existing in self.reservations:
            self.stats.duplicate_reservations += 1
            return self._reservation_ack(self.reservations[existing])
        reservation = Reservation(self._new_id("rsv"), request, self._route(request.queue))
        self.reservations[reservation.reservation_id] = reservation
        self._by_key["reservation", request.idempotency_key] = reservation.reservation_id
        self._enqueue(reservation.queue, DEFAULT_PRIORITY, reservation.reservation_id)
        self.stats.reservations_created += 1
        await self._notify()
        return self._reservation_ack(reservation)

    async def release(self, reservation_id: str) -> Reservation | None:
        """Give the held agent back (or leave the line); repeating it changes nothing."""
        reservation = self.reservations.get(reservation_id)
        if reservation is None or reservation.state not in ("waiting", "held"):
            return reservation
        if reservation.agent_id:
            self._free(self._agent(reservation.agent_id))
        reservation.state = "released"
        self.stats.reservations_released += 1
        await self._notify()
        return reservation

    async def transfer(self, request: TransferRequest) -> TransferAck:
        existing = self._by_key.get(("transfer", request.idempotency_key))
        if existing in self.transfers:
            self.stats.duplicate_transfers += 1
            return self._transfer_ack(self.transfers[existing])
        transfer = Transfer(self._new_id("tr"), request, self._route(request.queue))
        self.transfers[transfer.transfer_id] = transfer
        self._by_key["transfer", request.idempotency_key] = transfer.transfer_id
        self._by_interaction[request.context.interaction_id] = transfer.transfer_id
        self.stats.transfers += 1
        reservation = self.reservations.get(request.reservation_id or "")
        if reservation is not None and reservation.state in ("waiting", "held"):
            self._convert(reservation, transfer)
        else:
            self._enqueue(transfer.queue, request.context.priority, transfer.transfer_id)
        await self._notify()
        return self._transfer_ack(transfer)

    async def withdraw(self, transfer_id: str) -> Transfer | None:
        """The orchestrator gave up (callback, abandon): leave the line or end the contact."""
        transfer = self.transfers.get(transfer_id)
        if transfer is None or transfer.state not in ("queued", "with_agent"):
            return transfer
        task = self._serving.pop(transfer_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if transfer.agent_id:
            self._free(self._agent(transfer.agent_id))
        transfer.state = "withdrawn"
        self.stats.withdrawn += 1
        await self._notify()
        return transfer

    async def forward(self, transfer_id: str, message: ForwardMessage) -> Transfer | None:
        """Store a customer turn for the agent desktop, once per turn number."""
        transfer = self.transfers.get(transfer_id)
        if transfer is not None and all(m.turn != message.turn for m in transfer.messages):
            transfer.messages.append(message)
            self.stats.messages += 1
            await self._notify()
        return transfer

    def fail(self, operation: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` (``reserve``, ``release``,
        ``transfer``, ``withdraw``, ``forward``, ``callback``) with HTTP ``status`` and do
        nothing: the faults a real ACD has (a closed queue, an outage), for tests and the demo."""
        self.faults.setdefault(operation, []).extend([status] * times)

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, operation: str) -> int | None:
        """The status to answer this call of ``operation`` with instead of acting, if any."""
        pending = self.faults.get(operation)
        return pending.pop(0) if pending else None

    async def schedule_callback(self, request: CallbackRequest) -> str:
        existing = self._by_key.get(("callback", request.idempotency_key))
        if existing is not None:
            self.stats.duplicate_callbacks += 1
            return existing
        callback_id = self._new_id("cb")
        self.callbacks[callback_id] = request
        self._by_key["callback", request.idempotency_key] = callback_id
        self.stats.callbacks += 1
        await self._notify()
        return callback_id

    async def set_agents(self, queue: str, agents: int) -> None:
        """Change staffing now; busy or held agents above the target log off when done."""
        self._staff(queue, agents)
        await self._notify()

    async def pause(self) -> None:
        self.paused = True
        await self._notify()

    async def resume(self) -> None:
        self.paused = False
        await self._notify()

    # -- views -----------------------------------------------------------------------------

    def capacity(self) -> list[dict[str, Any]]:
        return [
            {
                "queue": q.name,
                "agents": q.staffed(),
                "available_agents": sum(a.idle and not a.retiring for a in q.agents),
                "queued": len(self._live_line(q)),
                "estimated_wait_seconds": self._estimate(q, len(self._live_line(q)), "chat"),
            }
            for q in self.queues.values()
        ]

    def transfer_for_interaction(self, interaction_id: str) -> Transfer | None:
        return self.transfers.get(self._by_interaction.get(interaction_id, ""))

    # -- engine internals ------------------------------------------------------------------

    def _staff(self, queue: str, count: int) -> None:
        q = self.queues.setdefault(queue, _Queue(queue))
        active = [a for a in q.agents if not a.retiring]
        for agent in active[count:]:
            agent.retiring = True
        for _ in range(count - len(active)):
            agent = Agent(f"{queue}-agent-{next(self._agent_ids):03d}", queue)
            q.agents.append(agent)
            self._agents[agent.agent_id] = agent
        q.agents = [a for a in q.agents if not (a.retiring and a.idle)]

    def _route(self, queue: str) -> str:
        """The named queue if anyone staffs it, else ``general``, else the best-staffed one."""
        if queue in self.queues and self.queues[queue].staffed():
            return queue
        if FALLBACK_QUEUE in self.queues or not self.queues:
            self.queues.setdefault(FALLBACK_QUEUE, _Queue(FALLBACK_QUEUE))
            return FALLBACK_QUEUE
        return max(self.queues.values(), key=_Queue.staffed).name

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    def _agent(self, agent_id: str) -> Agent:
        return self._agents[agent_id]

    def _enqueue(self, queue: str, priority: int, entry_id: str, seq: int | None = None) -> None:
        order = seq if seq is not None else int(entry_id.rsplit("-", 1)[1])
        heapq.heappush(self.queues[queue].line, (-priority, order, entry_id))

    def _entry(self, entry_id: str) -> Transfer | Reservation | None:
        return self.transfers.get(entry_id) or self.reservations.get(entry_id)

    def _live_line(self, q: _Queue) -> list[tuple[int, int, str]]:
        return sorted(e for e in q.line if (x := self._entry(e[2])) is not None and x.waiting)

    def _can_dispatch(self) -> bool:
        return not self.paused and any(
            q.idle_agent() is not None and self._live_line(q) for q in self.queues.values()
        )

    def _dispatch(self) -> None:
        for q in self.queues.values():
            while q.line and (agent := q.idle_agent()) is not None:
                entry = self._entry(heapq.heappop(q.line)[2])
                if isinstance(entry, Transfer) and entry.waiting:
                    self._start_contact(entry, agent)
                elif isinstance(entry, Reservation) and entry.waiting:
                    entry.state, entry.agent_id = "held", agent.agent_id
                    agent.reservation_id = entry.reservation_id

    def _convert(self, reservation: Reservation, transfer: Transfer) -> None:
        self.stats.reservations_converted += 1
        reservation.transfer_id = transfer.transfer_id
        if reservation.state == "held" and reservation.agent_id:
            agent = self._agent(reservation.agent_id)
            agent.reservation_id = None
            reservation.state = "converted"
            self._start_contact(transfer, agent)  # held agent takes it even while paused
            return
        # Still waiting: the transfer keeps the reservation's place in line.
        reservation.state = "converted"
        seq = int(reservation.reservation_id.rsplit("-", 1)[1])
        priority = transfer.request.context.priority
        self._enqueue(reservation.queue, priority, transfer.transfer_id, seq)
        transfer.queue = reservation.queue

    def _start_contact(self, transfer: Transfer, agent: Agent) -> None:
        transfer.state, transfer.agent_id = "with_agent", agent.agent_id
        agent.transfer_id = transfer.transfer_id
        task = asyncio.create_task(self._serve(transfer, agent), name=transfer.transfer_id)
        self._serving[transfer.transfer_id] = task

    async def _serve(self, transfer: Transfer, agent: Agent) -> None:
        workflow_id = transfer.request.context.workflow_id
        rng = random.Random(f"{self.seed}|{transfer.request.idempotency_key}")
        try:
            accepted = HumanAccepted(agent_id=agent.agent_id, transfer_id=transfer.transfer_id)
            await self._signal(
                workflow_id,
                HUMAN_ACCEPTED_SIGNAL,
                accepted.model_dump(mode="json"),
                transfer.transfer_id,
            )
            self.stats.accepted += 1
            await self._notify()
            await asyncio.sleep(self.handle_seconds(transfer.request.context.channel.value, rng))
            csat = rng.choices(list(CSAT_WEIGHTS), weights=list(CSAT_WEIGHTS.values()))[0]
            resolved = HumanResolved(agent_id=agent.agent_id, resolution="resolved", csat=csat)
            await self._signal(
                workflow_id,
                HUMAN_RESOLVED_SIGNAL,
                resolved.model_dump(mode="json"),
                transfer.transfer_id,
            )
            transfer.state, transfer.csat = "resolved", csat
            self.stats.resolved += 1
        finally:
            self._serving.pop(transfer.transfer_id, None)
            if transfer.state == "resolved":
                self._free(agent)
                await self._notify()

    async def _signal(
        self, workflow_id: str, name: str, payload: dict[str, Any], transfer_id: str
    ) -> None:
        """Send until delivered (the adapter contract): retried with backoff under one request
        id; given up only on a permanent refusal or after ``signal_retry.give_up_after``."""
        retry = self.signal_retry
        request_id = signal_request_id(workflow_id, name, transfer_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + retry.give_up_after
        delay = retry.first
        while True:
            try:
                await self.signaler.signal(workflow_id, name, payload, request_id)
                return
            except Exception as exc:
                permanent = isinstance(exc, RPCError) and exc.status in PERMANENT_SIGNAL_ERRORS
                if permanent or loop.time() + delay > deadline:
                    log.error(
                        "ACD: signal %s to %s not delivered, giving up: %s",
                        name,
                        workflow_id,
                        type(exc).__name__,
                    )
                    return
                self.stats.signal_retries += 1
                log.warning(
                    "ACD: signal %s to %s failed (%s), retrying in %.1f s",
                    name,
                    workflow_id,
                    type(exc).__name__,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(retry.longest, delay * 2)

    def _free(self, agent: Agent) -> None:
        agent.transfer_id = agent.reservation_id = None
        if agent.retiring:
            q = self.queues[agent.queue]
            q.agents = [a for a in q.agents if a is not agent]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _mean_handle(self, channel: str) -> float:
        """Mean handle time for estimates; sampled once for a custom distribution."""
        if isinstance(self.handle_seconds, HandleTimes):
            return self.handle_seconds.mean(channel)
        if channel not in self._means:
            rng = random.Random(f"mean|{channel}")
            self._means[channel] = sum(self.handle_seconds(channel, rng) for _ in range(64)) / 64
        return self._means[channel]

    def _estimate(self, q: _Queue, ahead: int, channel: str) -> float:
        """Queued ahead / agents x mean handle time, once the idle agents are used up."""
        staffed = q.staffed()
        if staffed == 0:
            return UNSTAFFED_WAIT_SECONDS
        idle = sum(a.idle and not a.retiring for a in q.agents)
        return round(max(0, ahead + 1 - idle) * self._mean_handle(channel) / staffed, 3)

    def _position(self, q: _Queue, entry_id: str) -> int:
        ids = [e[2] for e in self._live_line(q)]
        return ids.index(entry_id) + 1 if entry_id in ids else 0

    def _transfer_ack(self, transfer: Transfer) -> TransferAck:
        q = self.queues[transfer.queue]
        position = self._position(q, transfer.transfer_id)
        channel = transfer.request.context.channel.value
        wait = self._estimate(q, position - 1, channel) if position else 0.0
        return TransferAck(
            transfer_id=transfer.transfer_id, queue_position=position, estimated_wait_seconds=wait
        )

    def _reservation_ack(self, reservation: Reservation) -> ReservationAck:
        q = self.queues[reservation.queue]
        position = self._position(q, reservation.reservation_id)
        channel = reservation.request.channel.value
        wait = self._estimate(q, position - 1, channel) if position else 0.0
        return ReservationAck(
            reservation_id=reservation.reservation_id, estimated_wait_seconds=wait
        )
