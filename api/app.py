"""Warmline's HTTP API: WFM polling, routing-config administration, ``/metrics`` and the
Temporal remote codec server (``/codec/encode``, ``/codec/decode``).

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

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

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
from store.summary import summarize


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

    async def wfm_summary(request: Request) -> JSONResponse:
        since = request.query_params.get("since")
        summary = await asyncio.to_thread(summarize, store, since)
        return JSONResponse(summary.model_dump(mode="json"))

    routes: list[BaseRoute] = [
        Route("/healthz", health),
        Route("/metrics", metrics),
        Route("/v1/routing-config", get_config, methods=["GET"]),
        Route("/v1/routing-config", put_config, methods=["POST"]),
        Route("/v1/routing-config/versions", list_configs),
        Route("/v1/wfm/summary", wfm_summary),
    ]
    if settings.payload_encryption:
        routes.append(Mount("/codec", app=_codec_app(settings, admin_token, codec_open)))
    return Starlette(routes=routes)


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
