"""The simulated ACD's HTTP API: the contract Warmline's ACD activities call, plus admin hooks.

Contract endpoints take and return the ``models.acd`` models, exactly what a CCaaS adapter
would expose; each answers an injected fault first (``AcdSimulator.fail``). Admin endpoints
exist only for tests and the demo: read back the received context package field by field,
change staffing, pause assignment to keep a contact waiting, inject faults.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.acd import CallbackRequest, ForwardMessage, ReservationRequest, TransferRequest
from simulators.acd import AcdSimulator, Transfer
from simulators.server import EXCEPTION_HANDLERS, error_response, read_model


class Staffing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str = Field(min_length=1)
    agents: int = Field(ge=0)


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operation: Literal["reserve", "release", "transfer", "withdraw", "forward", "callback"]
    status: int = Field(ge=400, le=599)
    times: int = Field(default=1, ge=1, le=1000)


def _fault(status: int) -> Response:
    return error_response(status, f"injected fault: HTTP {status}", "injected_fault")


def create_acd_app(acd: AcdSimulator, *, manage_lifecycle: bool = True) -> Starlette:
    """HTTP app over ``acd``; by default the server's lifespan starts and stops the engine."""

    async def reserve(request: Request) -> Response:
        if (status := acd.take_fault("reserve")) is not None:
            return _fault(status)
        ack = await acd.reserve(await read_model(request, ReservationRequest))
        return JSONResponse(ack.model_dump(mode="json"))

    async def release(request: Request) -> Response:
        if (status := acd.take_fault("release")) is not None:
            return _fault(status)
        reservation = await acd.release(request.path_params["reservation_id"])
        if reservation is None:
            return error_response(404, "unknown reservation", "not_found")
        return JSONResponse(
            {"reservation_id": reservation.reservation_id, "state": reservation.state}
        )

    async def transfer(request: Request) -> Response:
        if (status := acd.take_fault("transfer")) is not None:
            return _fault(status)
        ack = await acd.transfer(await read_model(request, TransferRequest))
        return JSONResponse(ack.model_dump(mode="json"))

    async def withdraw(request: Request) -> Response:
        if (status := acd.take_fault("withdraw")) is not None:
            return _fault(status)
        transfer = await acd.withdraw(request.path_params["transfer_id"])
        if transfer is None:
            return error_response(404, "unknown transfer", "not_found")
        return JSONResponse(_summary(transfer))

    async def forward(request: Request) -> Response:
        if (status := acd.take_fault("forward")) is not None:
            return _fault(status)
        transfer_id = request.path_params["transfer_id"]
        message = await read_model(request, ForwardMessage)
        if message.transfer_id != transfer_id:
            return error_response(422, "transfer_id in body does not match the path")
        transfer = await acd.forward(transfer_id, message)
        if transfer is None:
            return error_response(404, "unknown transfer", "not_found")
        return JSONResponse({"transfer_id": transfer_id, "messages": len(transfer.messages)})

    async def callback(request: Request) -> Response:
        if (status := acd.take_fault("callback")) is not None:
            return _fault(status)
        callback_id = await acd.schedule_callback(await read_model(request, CallbackRequest))
        return JSONResponse({"callback_id": callback_id, "status": "scheduled"})

    async def capacity(request: Request) -> Response:
        return JSONResponse({"queues": acd.capacity()})

    async def stats(request: Request) -> Response:
        return JSONResponse(asdict(acd.stats) | {"paused": acd.paused})

    async def received_context(request: Request) -> Response:
        transfer = acd.transfer_for_interaction(request.path_params["interaction_id"])
        if transfer is None:
            return error_response(404, "no transfer for this interaction", "not_found")
        return JSONResponse(transfer.request.context.model_dump(mode="json"))

    async def transfers(request: Request) -> Response:
        return JSONResponse({"transfers": [_summary(t) for t in acd.transfers.values()]})

    async def staffing(request: Request) -> Response:
        body = await read_model(request, Staffing)
        await acd.set_agents(body.queue, body.agents)
        return JSONResponse({"queues": acd.capacity()})

    async def faults(request: Request) -> Response:
        body = await read_model(request, Fault)
        acd.fail(body.operation, body.status, body.times)
        return JSONResponse({"faults": acd.faults})

    async def pause(request: Request) -> Response:
        await acd.pause()
        return JSONResponse({"paused": True})

    async def resume(request: Request) -> Response:
        await acd.resume()
        return JSONResponse({"paused": False})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            acd.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await acd.stop()

    app = Starlette(
        routes=[
            Route("/reservations", reserve, methods=["POST"]),
            Route("/reservations/{reservation_id}", release, methods=["DELETE"]),
            Route("/transfers", transfer, methods=["POST"]),
            Route("/transfers/{transfer_id}", withdraw, methods=["DELETE"]),
            Route("/transfers/{transfer_id}/messages", forward, methods=["POST"]),
            Route("/callbacks", callback, methods=["POST"]),
            Route("/capacity", capacity, methods=["GET"]),
            Route("/admin/stats", stats, methods=["GET"]),
            Route("/admin/transfers", transfers, methods=["GET"]),
            Route("/admin/transfers/{interaction_id}", received_context, methods=["GET"]),
            Route("/admin/agents", staffing, methods=["POST"]),
            Route("/admin/pause", pause, methods=["POST"]),
            Route("/admin/faults", faults, methods=["POST"]),
            Route("/admin/resume", resume, methods=["POST"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.acd = acd
    return app


def _summary(transfer: Transfer) -> dict[str, Any]:
    return {
        "transfer_id": transfer.transfer_id,
        "interaction_id": transfer.request.context.interaction_id,
        "queue": transfer.queue,
        "state": transfer.state,
        "agent_id": transfer.agent_id,
        "messages": [m.model_dump(mode="json") for m in transfer.messages],
        "csat": transfer.csat,
    }
