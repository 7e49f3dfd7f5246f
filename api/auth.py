"""Authentication of every request, and the permission each route names.

Two steps, in this order, before a handler reads its body:

1. ``AuthenticationMiddleware`` turns ``Authorization: Bearer <token>`` into a ``Principal`` (an
   API key ``wl_...`` checked against the store, otherwise an OIDC JWT checked against the
   issuer's keys) or answers 401 with ``WWW-Authenticate`` and the reason. Only the paths in
   ``PUBLIC_PATHS`` (health, readiness, the API's own documentation) skip it. Running as
   middleware means an unauthenticated caller learns nothing from the router: not which routes
   exist, not what a body should look like.
2. ``requires(Permission.X)`` on a route checks the principal holds the permission, else 403
   naming the permission and the roles that have it. One line per route, returning the
   principal when the handler records who acted:

       @router.post("/v1/things")
       async def change(principal: Annotated[Principal, requires(Permission.FLEET_CHANGE)]):

   or for a whole router: ``APIRouter(dependencies=[requires(Permission.WFM_READ)])``.

The principal is also what every action records as its author: reviewer, approver, requester.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ApiError, error_response
from models.access import CredentialKind, Permission, Principal, Role, api_key_subject
from runtime.oidc import CredentialRejected, IdentityProviderUnavailable, JwtVerifier
from store.api_keys import ApiKeyRejected, ApiKeyStore
from warmline.access import looks_like_api_key, permissions_of, roles_with

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
"""Answered without a credential: liveness, readiness and the API's own description."""
REALM = "warmline"
LOCAL_UI = Principal(
    subject="local-ui",
    roles=frozenset({Role.AUDITOR, Role.INTERACTION_CLIENT}),
    via=CredentialKind.LOCAL,
)
"""Who the embedded stack's Temporal UI is on loopback: it has no login to send a token with."""
LOCAL_UI_PATHS = ("/codec/",)

_bearer = HTTPBearer(auto_error=False, description="OIDC access token or Warmline API key")


class Authenticator:
    """Bearer token -> principal: API keys from the store, JWTs through the OIDC verifier."""

    def __init__(
        self, keys: ApiKeyStore, server_secret: bytes, jwt: JwtVerifier | None = None
    ) -> None:
        self._keys = keys
        self._secret = server_secret
        self._jwt = jwt

    async def authenticate(self, token: str) -> Principal:
        if looks_like_api_key(token):
            try:
                info = await asyncio.to_thread(self._keys.authenticate, token, self._secret)
            except ApiKeyRejected as exc:
                raise CredentialRejected(str(exc)) from None
            return Principal(
                subject=api_key_subject(info.name),
                roles=frozenset(info.roles),
                via=CredentialKind.API_KEY,
                key_id=info.key_id,
            )
        if self._jwt is None:
            raise CredentialRejected(
                "not a Warmline API key, and no OIDC issuer is configured for JWTs "
                "(WARMLINE_OIDC_ISSUER, WARMLINE_OIDC_AUDIENCE, WARMLINE_OIDC_JWKS_URL)"
            )
        return await self._jwt.verify(token)


def _quoted(text: str) -> str:
    """``text`` safe inside a quoted header parameter (RFC 6750 error_description)."""
    return "".join(c for c in text if 0x20 <= ord(c) < 0x7F and c not in '"\\')


def unauthorized(reason: str, *, invalid_token: bool) -> ApiError:
    """401 with the RFC 6750 challenge; ``error=invalid_token`` only when one was presented."""
    challenge = f'Bearer realm="{REALM}"'
    if invalid_token:
        challenge += f', error="invalid_token", error_description="{_quoted(reason)}"'
    return ApiError(401, reason, headers={"WWW-Authenticate": challenge})


class AuthenticationMiddleware:
    """Authenticates every HTTP request outside ``PUBLIC_PATHS`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, local_ui: bool) -> None:
        self.app = app
        self.authenticator = authenticator
        self.local_ui = local_ui

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._principal(scope)
        except ApiError as refusal:
            response = error_response(refusal.status_code, str(refusal.detail), refusal.headers)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, scope: Scope) -> Principal:
        header = Headers(scope=scope).get("authorization")
        if header is None:
            if self.local_ui and scope["path"].startswith(LOCAL_UI_PATHS):
                return LOCAL_UI
            raise unauthorized(
                "missing credential: send Authorization: Bearer <OIDC access token or "
                "Warmline API key>",
                invalid_token=False,
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized(
                f"unsupported Authorization scheme {scheme!r}: use Bearer <token>",
                invalid_token=True,
            )
        try:
            return await self.authenticator.authenticate(token.strip())
        except CredentialRejected as exc:
            raise unauthorized(str(exc), invalid_token=True) from None
        except IdentityProviderUnavailable as exc:
            raise ApiError(503, str(exc)) from None
        except OperationalError:
            raise ApiError(503, "the credential store is unavailable") from None


def authenticated(request: Request) -> Principal:
    """The request's principal (set by the middleware); for routes any identity may call."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise unauthorized("missing credential", invalid_token=False)
    return principal


class PermissionCheck:
    """The dependency behind ``requires``; ``permission`` is read by ``route_permissions``."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = authenticated(request)
        if self.permission not in permissions_of(principal.roles):
            held = ", ".join(sorted(role.value for role in principal.roles)) or "none"
            allowed = ", ".join(role.value for role in roles_with(self.permission))
            raise ApiError(
                403,
                f"{principal.subject} lacks permission {self.permission.value!r} (granted to: "
                f"{allowed}; your roles: {held})",
            )
        return principal


def requires(permission: Permission) -> Any:
    """``Depends`` that admits only principals holding ``permission`` and returns the principal."""
    return Depends(PermissionCheck(permission))


def _checks(dependant: Any) -> list[Permission]:
    found: list[Permission] = []
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, PermissionCheck):
            found.append(dependency.call.permission)
        found.extend(_checks(dependency))
    return found


def route_permissions(app: FastAPI) -> dict[tuple[str, str], Permission | None]:
    """(method, path) -> the permission the route requires (None: any authenticated caller).

    What the README's route table and the role-by-route test are checked against.
    """
    table: dict[tuple[str, str], Permission | None] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or route.path in PUBLIC_PATHS:
            continue
        checks = _checks(route.dependant)
        for method in sorted(route.methods or ()):
            table[(method, str(route.path))] = checks[0] if checks else None
    return table
