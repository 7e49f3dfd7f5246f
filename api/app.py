"""Warmline's HTTP API: WFM polling, routing-config administration and ``/metrics``.

Reads are open to the WFM platform on the internal network; changes to routing need the admin
token (``WARMLINE_ADMIN_TOKEN``), and every change is a new stored version with its author,
plus an entry on the ``routing-config`` audit stream.
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.routing import RoutingConfig
from store.repository import Store
from store.summary import summarize
from warmline.settings import Settings


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_api_app(store: Store, settings: Settings) -> Starlette:
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None

    def authorized(request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return admin_token is not None and hmac.compare_digest(given, admin_token)

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
        await asyncio.to_thread(
            store.append_audit_auto,
            "routing-config",
            "routing_config_saved",
            author,
            {"version": saved.version},
            datetime.now(UTC).isoformat(),
        )
        return JSONResponse({"version": saved.version}, status_code=201)

    async def wfm_summary(request: Request) -> JSONResponse:
        since = request.query_params.get("since")
        summary = await asyncio.to_thread(summarize, store, since)
        return JSONResponse(summary.model_dump(mode="json"))

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/metrics", metrics),
            Route("/v1/routing-config", get_config, methods=["GET"]),
            Route("/v1/routing-config", put_config, methods=["POST"]),
            Route("/v1/routing-config/versions", list_configs),
            Route("/v1/wfm/summary", wfm_summary),
        ]
    )
