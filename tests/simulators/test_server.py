"""serve_app: in-loop uvicorn on an ephemeral port, gone once the context exits."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Scope

from simulators.acd import AcdSimulator
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import create_ai_fleet_app
from simulators.server import CLIENT_CLOSED, serve_app
from tests.simulators.recording import RecordingSignaler


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


APP = Starlette(routes=[Route("/", _hello)])


async def test_serves_on_ephemeral_port_and_stops() -> None:
    async with serve_app(APP) as first, serve_app(APP) as second:
        assert first != second
        assert not first.endswith(":0")
        async with httpx.AsyncClient() as client:
            assert (await client.get(first)).text == "hello"
            assert (await client.get(second)).text == "hello"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(first)


async def test_port_in_use_is_an_error_not_an_exit() -> None:
    async with serve_app(APP) as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(RuntimeError):
            async with serve_app(APP, port=port):
                pass


@pytest.mark.parametrize("app", ["ai fleet", "acd"])
async def test_a_client_that_leaves_mid_request_is_not_a_server_error(app: str) -> None:
    """A worker killed while its request body is on the way: the simulator answers nobody
    (status 499) instead of raising, which uvicorn would log as a traceback."""
    built = (
        create_ai_fleet_app()
        if app == "ai fleet"
        else create_acd_app(AcdSimulator(RecordingSignaler()))
    )
    path = "/agents/care-bot/1/v1/chat/completions" if app == "ai fleet" else "/transfers"
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    await built(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == CLIENT_CLOSED
