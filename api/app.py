"""Warmline's HTTP API: WFM polling and schedule sync (``/v1/wfm``, FastAPI, ``api/wfm.py``),
routing-config administration, ``/metrics`` and the Temporal remote codec server
(``/codec/encode``, ``/codec/decode``).

Reads are open to the WFM platform on the internal network; changes to routing need the admin
token (``WARMLINE_ADMIN_TOKEN``), and every change is a new stored version with its author,
plus an entry on the ``routing-config`` audit stream.

The codec server decrypts history payloads for the Temporal UI and CLI, so it is a decryption
oracle: with an admin token set it requires ``Authorization: Bearer <token>``; without one it
answers only when the caller declares the app loopback-bound (``codec_open``, the embedded
stack), never on ``warmline api``'s public bind. CORS admits only the Temporal UI's origins.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable

from fastapi import FastAPI, HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from api.wfm import wfm_router
from models.routing import RoutingConfig
from runtime.codec import (
    EncryptionCodec,
    PayloadDecryptionError,
    load_or_create_key_ring,
    payloads_from_json,
    payloads_to_json,
)
from runtime.settings import Settings
from store.repository import Store


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _bearer_matches(request: Request, token: str | None) -> bool:
    """``Authorization: Bearer <token>`` with the configured token (constant-time compare)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return (
        token is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip(), token)
    )


def create_api_app(store: Store, settings: Settings, *, codec_open: bool = False) -> Starlette:
    """The API; ``codec_open`` lets ``/codec`` answer without an admin token (loopback only)."""
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None

    def authorized(request: Request) -> bool:
        return _bearer_matches(request, admin_token)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def get_config(_: Request) -> JSONResponse:
        config = await asyncio.to_thread(store.active_routing_config)
        if config is None:
            return _error(404, "no routing config stored yet")
        return JSONResponse(config.model_dump(mode="json"))

    async def list_configs(_: Request) -> JSONResponse:
        rows = await asyncio.to_thread(store.list_routing_configs)
        return JSONResponse([{"version": v, "author": a, "created_at": t} for v, a, t in rows])

    async def put_config(request: Request) -> JSONResponse:
        if not authorized(request):
            return _error(403, "routing changes need the admin token (Authorization: Bearer …)")
        author = request.headers.get("x-warmline-author", "").strip()
        if not author:
            return _error(
                400, "X-Warmline-Author header is required: every version names its author"
            )
        try:
            config = RoutingConfig.model_validate(await request.json())
        except ValidationError as exc:
            return _error(422, f"invalid routing config: {exc.errors(include_url=False)}")
        except ValueError:
            return _error(400, "body is not JSON")
        saved = await asyncio.to_thread(store.save_routing_config, config, author)
        return JSONResponse({"version": saved.version}, status_code=201)

    routes: list[BaseRoute] = [
        Route("/healthz", health),
        Route("/metrics", metrics),
        Route("/v1/routing-config", get_config, methods=["GET"]),
        Route("/v1/routing-config", put_config, methods=["POST"]),
        Route("/v1/routing-config/versions", list_configs),
        Mount("/v1/wfm", app=wfm_app(store, settings, open_without_token=codec_open)),
    ]
    if settings.payload_encryption:
        routes.append(Mount("/codec", app=_codec_app(settings, admin_token, codec_open)))
    return Starlette(routes=routes)


def _bearer_check(
    tokens: list[str], open_without_token: bool, what: str
) -> Callable[[Request], None]:
    """TEMPORARY placeholder until track ``access`` wires its authentication and roles: a
    bearer token compared in constant time. No token configured: open only on the loopback-bound
    embedded stack, else every request is refused."""

    def check(request: Request) -> None:
        if not tokens:
            if open_without_token:
                return
            raise HTTPException(403, f"{what} needs a configured token (WARMLINE_WFM_READER_TOKEN)")
        if not any(_bearer_matches(request, token) for token in tokens):
            raise HTTPException(
                401, f"{what} needs Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )

    return check


def wfm_app(store: Store, settings: Settings, *, open_without_token: bool = False) -> FastAPI:
    """The WFM API as a FastAPI sub-application (its own OpenAPI document and docs)."""
    admin = settings.admin_token.get_secret_value() if settings.admin_token else None
    reader = settings.wfm_reader_token.get_secret_value() if settings.wfm_reader_token else None
    readers = [t for t in (reader, admin) if t]
    planners = [admin] if admin else []
    app = FastAPI(
        title="Warmline WFM API",
        version="1",
        description="Interval data, intraday snapshot, capacity, plan vs actual, containment "
        "trends, and the schedule push, for workforce-management platforms.",
    )
    app.include_router(
        wfm_router(
            store,
            _bearer_check(readers, open_without_token, "the WFM API"),
            _bearer_check(planners, open_without_token, "the schedule push"),
            interval_minutes=settings.wfm_interval_minutes,
            target_service_level=settings.wfm_target_service_level,
            target_answer_seconds=settings.wfm_target_answer_seconds,
        )
    )
    return app


def _codec_app(settings: Settings, admin_token: str | None, open_without_token: bool) -> Starlette:
    """Temporal's remote codec protocol over the same key ring as the workers.

    A sub-application so that CORS (the browser-side Temporal UI calls it) covers only these two
    endpoints, not the routing administration.
    """
    codec = EncryptionCodec(load_or_create_key_ring(settings))

    def refusal(request: Request) -> JSONResponse | None:
        if admin_token is None:
            if open_without_token:
                return None
            return _error(
                403,
                "the codec server needs WARMLINE_ADMIN_TOKEN when the API is not loopback-only",
            )
        if _bearer_matches(request, admin_token):
            return None
        response = _error(401, "the codec server needs Authorization: Bearer <admin token>")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def run(request: Request, encode: bool) -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        try:
            payloads = payloads_from_json(await request.body())
        except ValueError as exc:
            return _error(400, f"body is not a Payloads JSON document: {exc}")
        try:
            result = await (codec.encode(payloads) if encode else codec.decode(payloads))
        except PayloadDecryptionError as exc:
            return _error(422, exc.message)
        return Response(payloads_to_json(result), media_type="application/json")

    async def encode(request: Request) -> Response:
        return await run(request, encode=True)

    async def decode(request: Request) -> Response:
        return await run(request, encode=False)

    return Starlette(
        routes=[
            Route("/encode", encode, methods=["POST"]),
            Route("/decode", decode, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.resolved_codec_cors_origins,
                allow_methods=["POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Namespace"],
                allow_credentials=True,
            )
        ],
    )
