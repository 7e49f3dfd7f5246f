"""Warmline's HTTP API (FastAPI; OpenAPI at ``/docs`` and ``/openapi.json``).

What it serves: the human-facing actions the CLI takes (reviews, sign-offs, canaries, A/B tests,
rollbacks, the model registry, routing config, audit exports, retention and legal holds), WFM
reads, access administration, ``/metrics`` and the Temporal remote codec server. It holds the
Temporal client, the payload key ring and the store, so supervisors, release managers and
auditors need none of them: only a credential.

Every request is authenticated (``api.auth``: OIDC bearer JWTs for people, hashed API keys for
services) except ``/healthz``, ``/readyz`` and the API's own documentation, and every route names
the permission it needs; ``warmline.access.ROLE_PERMISSIONS`` grants permissions to roles.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.client import Client

from api import (
    access,
    audit,
    fleet,
    phases,
    retention,
    reviews,
    rollouts,
    routing,
    routing_proposals,
    shadow,
    system,
)
from api.auth import AuthenticationMiddleware, Authenticator, PermissionCheck
from api.codec import codec_router
from api.errors import install_error_handlers, reject_unknown_query_parameters
from api.services import ApiServices
from api.temporal import TemporalAccess
from api.wfm import wfm_router
from models.access import Permission
from runtime.api_key_secret import api_key_secret
from runtime.codec import EncryptionCodec, load_payload_keys
from runtime.oidc import JwksCache, JwtVerifier
from runtime.settings import Settings
from store.api_keys import ApiKeyStore
from store.repository import Store

CODEC_PREFIX = "/codec/"


class CodecCORS:
    """CORS for the browser-side Temporal UI on the codec paths only, never the rest of the API.

    Outside authentication, so a preflight (which carries no credentials) is answered and a 401
    reaches the UI readable.
    """

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace", "X-Workflow-Id"],
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CODEC_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _jwt_verifier(settings: Settings, http: httpx.AsyncClient) -> JwtVerifier | None:
    if not settings.oidc_enabled or settings.oidc_jwks_url is None:
        return None
    jwks = JwksCache(
        settings.oidc_jwks_url,
        http,
        ttl_seconds=settings.oidc_jwks_cache_seconds,
        refresh_seconds=settings.oidc_jwks_refresh_seconds,
    )
    return JwtVerifier(settings, jwks)


def create_api_app(
    store: Store,
    settings: Settings,
    *,
    temporal: Client | None = None,
    local_ui: bool = False,
) -> FastAPI:
    """The API over ``store``; ``temporal`` is connected on first use when not given.

    ``local_ui`` (the embedded stack, bound to loopback only) lets codec calls without a
    credential act as ``api.auth.LOCAL_UI``, because the dev server's Temporal UI has no login to
    forward a token from; those decodes are audited like any other.
    """
    http = httpx.AsyncClient(follow_redirects=False)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await http.aclose()

    app = FastAPI(
        title="Warmline API",
        summary="Reviews, rollouts, routing, WFM reads and the codec server, by role.",
        lifespan=lifespan,
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    server_secret = api_key_secret(settings)
    keys = ApiKeyStore(store)
    app.state.services = ApiServices(
        store=store,
        settings=settings,
        temporal=TemporalAccess(settings, temporal),
        keys=keys,
        server_secret=server_secret,
    )
    install_error_handlers(app)
    for module in (
        system,
        routing,
        routing_proposals,
        fleet,
        shadow,
        rollouts,
        reviews,
        phases,
        access,
        audit,
        retention,
    ):
        app.include_router(module.router)
    app.include_router(
        wfm_router(
            store,
            PermissionCheck(Permission.WFM_READ),
            PermissionCheck(Permission.SCHEDULE_PUSH),
            interval_minutes=settings.wfm_interval_minutes,
            target_service_level=settings.wfm_target_service_level,
            target_answer_seconds=settings.wfm_target_answer_seconds,
        ),
        prefix="/v1/wfm",
    )
    if settings.payload_encryption:
        app.include_router(codec_router(EncryptionCodec(load_payload_keys(settings))))
    authenticator = Authenticator(keys, server_secret, _jwt_verifier(settings, http))
    app.add_middleware(AuthenticationMiddleware, authenticator=authenticator, local_ui=local_ui)
    app.add_middleware(CodecCORS, origins=settings.resolved_codec_cors_origins)
    return app
