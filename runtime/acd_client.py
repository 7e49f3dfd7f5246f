"""HTTP client for the ACD: reservations, warm transfers, forwarded messages, callbacks.

4xx answers mean our request is wrong: they become non-retryable errors naming the reason.
Everything else (connection refused, 5xx, timeouts) is retried by the activity's policy, so an
ACD restart delays a hand-off but never loses it.

The adapter contract, the other direction: the ACD (or the adapter in front of it) tells the
interaction workflow what its human agent did by signalling it through any Temporal client -
``human_accepted`` (``HumanAccepted``: agent id and the transfer id it answered) when an agent
picks the contact up, ``human_resolved`` (``HumanResolved``) when they finish. The adapter
MUST retry a signal it failed to send (Temporal unreachable, restarting, overloaded) with
backoff until it is delivered, and MUST send every retry of one signal under the same
``request_id`` (``SignalWorkflowExecutionRequest.request_id``, e.g. derived from workflow id,
signal name and transfer id): Temporal then records a retried signal it already took once, so
a lost answer never delivers a hand-off twice. A NOT_FOUND answer (the interaction is over)
ends the retries. ``simulators.acd`` follows this contract (``SignalRetry``,
``signal_request_id``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
from temporalio.exceptions import ApplicationError

from models.acd import (
    CallbackRequest,
    ForwardMessage,
    ReservationAck,
    ReservationRequest,
    TransferAck,
    TransferRequest,
)
from models.routing import HumanAvailability, PlannedStaffing
from warmline.redaction import redact

CAPACITY_TTL_SECONDS = 1.0

PlanSource = Callable[[], Awaitable[dict[str, list[PlannedStaffing]]]]
COUNTED_TRANSFERS = 10_000
"""Transfer keys remembered so a retried transfer is counted once as an escalation."""


class AcdMetrics(Protocol):
    """``runtime.metrics.WarmlineMetrics``: escalations and queue lengths as the ACD saw them."""

    def escalated(self, trigger: str) -> None: ...

    def set_human_queue_waiting(self, queue: str, waiting: int) -> None: ...


class AcdClient:
    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = 5.0,
        plan: PlanSource | None = None,
        metrics: AcdMetrics | None = None,
    ) -> None:
        """``plan``: the WFM staffing plan per queue (schedule sync), attached to each queue's
        availability so routing and spillover can act ahead of a planned drop. ``metrics``:
        escalations counted when the ACD accepts a warm transfer (real-time human demand), and
        each queue's waiting count whenever capacity is read."""
        self._plan = plan
        self._metrics = metrics
        self._counted: OrderedDict[str, None] = OrderedDict()
        self._base = base_url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds, connect=2.0))
        self._capacity: list[HumanAvailability] = []
        self._capacity_at = float("-inf")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._http.request(method, f"{self._base}{path}", json=body)
        if 400 <= response.status_code < 500 and response.status_code not in (404, 408, 429):
            raise ApplicationError(
                # The body may echo what was sent (a transcript): redacted before it becomes
                # a failure message, which lands in history and logs.
                f"ACD rejected {method} {path}: HTTP {response.status_code} "
                f"{redact(response.text[:300])}",
                type="AcdRejected",
                non_retryable=True,
            )
        response.raise_for_status()
        return response.json() if response.content else None

    async def reserve(self, request: ReservationRequest) -> ReservationAck:
        return ReservationAck.model_validate(
            await self._call("POST", "/reservations", request.model_dump(mode="json"))
        )

    async def release(self, reservation_id: str) -> None:
        response = await self._http.delete(f"{self._base}/reservations/{reservation_id}")
        if response.status_code not in (200, 204, 404):
            response.raise_for_status()

    async def withdraw(self, transfer_id: str) -> None:
        """Take a transfer back (customer left, callback booked); unknown ids are fine."""
        response = await self._http.delete(f"{self._base}/transfers/{transfer_id}")
        if response.status_code not in (200, 204, 404):
            response.raise_for_status()

    async def transfer(self, request: TransferRequest) -> TransferAck:
        ack = TransferAck.model_validate(
            await self._call("POST", "/transfers", request.model_dump(mode="json"))
        )
        if self._metrics is not None and request.idempotency_key not in self._counted:
            self._counted[request.idempotency_key] = None
            if len(self._counted) > COUNTED_TRANSFERS:
                self._counted.popitem(last=False)
            self._metrics.escalated(request.context.trigger.value)
        return ack

    async def forward(self, message: ForwardMessage) -> None:
        await self._call(
            "POST", f"/transfers/{message.transfer_id}/messages", message.model_dump(mode="json")
        )

    async def callback(self, request: CallbackRequest) -> None:
        await self._call("POST", "/callbacks", request.model_dump(mode="json"))

    async def capacity(self, fresh: bool = False) -> list[HumanAvailability]:
        """Human availability, cached briefly: routing reads it on every interaction.
        Spillover and metering ask for a ``fresh`` reading: they decide who may join a queue."""
        live = await self._live_capacity(fresh)
        if self._plan is None:
            return live
        plan = await self._plan()
        if not plan:
            return live
        return [
            q.model_copy(update={"plan": plan[q.queue]}) if q.queue in plan else q for q in live
        ]

    async def _live_capacity(self, fresh: bool) -> list[HumanAvailability]:
        now = time.monotonic()
        if not fresh and now - self._capacity_at < CAPACITY_TTL_SECONDS:
            return self._capacity
        try:
            body = await self._call("GET", "/capacity")
        except (httpx.HTTPError, ApplicationError):
            # Unknown capacity must not block routing: report none, decisions say so.
            return self._capacity
        self._capacity = [
            HumanAvailability(
                queue=q["queue"],
                agents=int(q.get("agents", 0)),
                available_agents=int(q.get("available_agents", 0)),
                queued=int(q.get("queued", 0)),
                estimated_wait_seconds=float(q.get("estimated_wait_seconds", 0.0)),
            )
            for q in body.get("queues", [])
        ]
        self._capacity_at = now
        if self._metrics is not None:
            for queue in self._capacity:
                self._metrics.set_human_queue_waiting(queue.queue, queue.queued)
        return self._capacity
