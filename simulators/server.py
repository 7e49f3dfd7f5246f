"""HTTP plumbing shared by the simulators: serve a Starlette app in-loop, parse bodies.

Tests and the demo run the simulators inside their own event loop rather than in threads or
subprocesses, so a test can inspect simulator state directly and everything shuts down with
the loop. uvicorn's signal handlers are disabled because the host process (pytest, the CLI)
owns SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar

import uvicorn
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

GRACEFUL_SHUTDOWN_SECONDS = 2
"""In-flight requests (e.g. an injected hang) get this long before they are cancelled."""

ModelT = TypeVar("ModelT", bound=BaseModel)


class _InLoopServer(uvicorn.Server):
    """A uvicorn server that reports readiness through an event and leaves signals alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit as exc:
            # uvicorn reports bind/lifespan failures with sys.exit(), which asyncio would
            # re-raise out of the whole event loop; make it an ordinary task failure instead.
            raise RuntimeError(f"uvicorn failed to start (exit code {exc.code})") from None
        self.ready.set()

    def bound_port(self) -> int:
        for server in self.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("uvicorn started without a listening socket")


@contextlib.asynccontextmanager
async def serve_app(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    graceful_shutdown_seconds: int = GRACEFUL_SHUTDOWN_SECONDS,
) -> AsyncIterator[str]:
    """Serve ``app`` in the running loop and yield its base URL (``port=0`` picks a free port)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # leave the host's logging configuration untouched
        log_level="warning",
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=graceful_shutdown_seconds,
    )
    server = _InLoopServer(config)
    task = asyncio.create_task(server.serve(), name=f"uvicorn:{host}:{port}")
    ready = asyncio.create_task(server.ready.wait())
    try:
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            await task  # re-raises the startup failure
            raise RuntimeError(f"simulator server on {host}:{port} stopped before it started")
        yield f"http://{host}:{server.bound_port()}"
    finally:
        ready.cancel()
        server.should_exit = True
        if not task.done():
            await task


def error_response(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    """OpenAI-style error envelope; the ACD simulator uses the same shape for simplicity."""
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


class BadRequest(Exception):
    """Raised while parsing a body; carries the ready-made 4xx response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__("bad request")
        self.response = response


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return exc.response


CLIENT_CLOSED = 499
"""The status (nginx's convention) a request gets whose client left before sending it whole."""


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A caller that disconnects mid-request (a killed worker, a timed-out call) is an ordinary
    event for a server: nobody is left to answer, and it is no error of the simulator's."""
    return Response(status_code=CLIENT_CLOSED)


EXCEPTION_HANDLERS: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    BadRequest: _bad_request,
    ClientDisconnect: _client_gone,
}
"""Pass to ``Starlette(exception_handlers=...)`` so ``read_model`` failures become 4xx and a
client that went away mid-request is not logged as a server error."""


async def read_json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(error_response(400, f"body is not JSON: {exc}")) from exc


async def read_model(request: Request, model: type[ModelT]) -> ModelT:
    """Validate a request body at the edge, answering 422 with pydantic's field errors."""
    body = await read_json(request)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = json.loads(exc.json(include_url=False))
        response = JSONResponse(
            {"error": {"message": "invalid body", "type": "validation_error", "details": errors}},
            status_code=422,
        )
        raise BadRequest(response) from exc
