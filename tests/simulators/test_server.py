"""serve_app: in-loop uvicorn on an ephemeral port, gone once the context exits."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from simulators.server import serve_app


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
